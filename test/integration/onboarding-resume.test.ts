import { APIGatewayClient, GetApiKeysCommand, GetUsagePlanKeysCommand } from '@aws-sdk/client-api-gateway';
import { AdminGetUserCommand, CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import * as Cell from '@cellbook/core/cells/cell';
import * as OnboardingReaper from '@cellbook/core/lifecycle/onboarding-reaper';
import * as Onboarding from '@cellbook/core/lifecycle/onboarding';
import type { TenantSummary } from '@cellbook/core/tenants/record';
import * as Tenant from '@cellbook/core/tenants/tenant';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import type { JsonResponse } from '@cellbook/local/client';
import { pauseAt } from '../support/pause-point.js';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * Crash drills for onboarding. The workflow runs in this process with the control plane's
 * environment (the drill role: exactly the union of the control identities' grants; its tables and
 * the platform's endpoints), so a crash can be injected after any step; the retry then goes through
 * the router like any client's, and must finish the same tenant. What the drills inspect (every
 * usage plan's keys, the user directory) they read as the deployer: no control identity may.
 */
class SimulatedCrash extends Error {}

let env: TestPlatform;
let reference: TestTenant;
const admin = () => ({
  region: env.platform.region,
  credentials: sdkCredentials(env.platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin')),
});

beforeAll(async () => {
  env = await bootTestPlatform();
  Object.assign(process.env, env.platform.controlPlaneEnv);
  reference = await env.onboard('basic');
});
afterAll(() => env?.stop());

/** Starts an onboarding that dies right after `step`, as if its function had crashed there. */
async function crashAfter(step: Onboarding.OnboardingStep, body: object, idempotencyKey: string): Promise<string> {
  let crashedTenant: string | undefined;
  await expect(
    Onboarding.onboard(body, {
      actor: 'operator',
      idempotencyKey,
      // Its lease is already over, as it would be by the time anyone retries a crashed request.
      now: () => Date.now() - Onboarding.ONBOARDING_LEASE_MS - 1_000,
      afterStep: (done, tenantId) => {
        if (done !== step) return;
        crashedTenant = tenantId;
        throw new SimulatedCrash(`crashed after ${step}`);
      },
    }),
  ).rejects.toBeInstanceOf(SimulatedCrash);
  return crashedTenant!;
}

/**
 * Starts an onboarding that waits right after `step` until `resume()`, as a slow function would;
 * `paused` resolves with its tenant id once it waits there, `finished` with its result.
 */
function pauseAfter(step: Onboarding.OnboardingStep, body: object, idempotencyKey: string) {
  const pause = pauseAt(step);
  const finished = Onboarding.onboard(body, { actor: 'operator', idempotencyKey, afterStep: pause.hook });
  return { paused: pause.reached.then((tenantId) => tenantId!), finished, resume: pause.release };
}

/** A token for the tenant that the pool's key signed: what an admin could hold before ACTIVE. */
async function tokenFor(tenantId: string): Promise<string> {
  const {
    iss: _iss,
    iat: _iat,
    exp: _exp,
    jti: _jti,
    ...claims
  } = JSON.parse(Buffer.from(reference.token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  return env.platform.cognito.mintToken({ ...claims, tenant_id: tenantId });
}

async function apiKeysOf(tenantId: string) {
  const apiGateway = new APIGatewayClient({ ...admin(), endpoint: env.platform.endpoints.apiGateway });
  const { items = [] } = await apiGateway.send(new GetApiKeysCommand({ nameQuery: `tenant-${tenantId}`, limit: 500 }));
  const keys = items.filter((key) => key.name === `tenant-${tenantId}`);
  const plans = await Promise.all(
    env.platform.cells.flatMap((cell) =>
      Object.entries(cell.usagePlans).map(async ([tier, usagePlanId]) => {
        const { items: members = [] } = await apiGateway.send(new GetUsagePlanKeysCommand({ usagePlanId }));
        return members.filter((member) => keys.some((key) => key.id === member.id)).map(() => `${cell.cellId}/${tier}`);
      }),
    ),
  );
  return { count: keys.length, plans: plans.flat() };
}

async function adminUser(email: string) {
  const cognito = new CognitoIdentityProviderClient({ ...admin(), endpoint: env.platform.endpoints.cognito });
  const user = await cognito.send(new AdminGetUserCommand({ UserPoolId: env.platform.controlPlaneEnv.USER_POOL_ID, Username: email }));
  return Object.fromEntries((user.UserAttributes ?? []).map((attribute) => [attribute.Name, attribute.Value]));
}

async function tenantsNamed(name: string) {
  const all: TenantSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await Tenant.list({ limit: 100, ...(cursor ? { cursor } : {}) });
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all.filter((tenant) => tenant.name === name);
}

describe('Onboarding after a crash', () => {
  it.each(Onboarding.ONBOARDING_STEPS)('finishes a tenant whose onboarding crashed after "%s": one tenant, key, slot and admin, ACTIVE', async (step) => {
    const body = { name: `Crash ${step}`, tier: 'basic', adminEmail: `crash-${step.toLowerCase()}@example.com` };
    const tenantId = await crashAfter(step, body, `crash-${step}`);

    const crashed = await Tenant.getRecord(tenantId);
    if (Onboarding.ONBOARDING_STEPS.indexOf(step) < Onboarding.ONBOARDING_STEPS.indexOf('activated')) {
      expect(crashed?.status).toBe('PENDING');
      // No tenant traffic before ACTIVE, even with a valid token for the tenant.
      expect((await env.call('GET', '/me', { token: await tokenFor(tenantId) })).status).toBe(403);
    }

    const retry = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      body,
      headers: { 'idempotency-key': `crash-${step}` },
    });
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ tenantId, name: body.name, tier: 'basic', status: 'ACTIVE', admin: { username: body.adminEmail } });
    // The one-time password died with the crashed attempt; the answer that reaches the client carries a usable one.
    expect(retry.body.admin.temporaryPassword).toEqual(expect.any(String));

    expect(await tenantsNamed(body.name)).toEqual([expect.objectContaining({ tenantId, status: 'ACTIVE', cellId: retry.body.cellId })]);
    expect(await apiKeysOf(tenantId)).toEqual({ count: 1, plans: [`${retry.body.cellId}/basic`] });
    expect(await adminUser(body.adminEmail)).toMatchObject({ 'custom:tenant_id': tenantId });
    const holding = (await Cell.list()).filter((cell) => cell.tenants?.has(tenantId)).map((cell) => cell.cellId);
    expect(holding).toEqual([retry.body.cellId]);
    const audit = await env.call('GET', `/admin/tenants/${tenantId}/audit`, { token: env.operatorToken });
    expect(audit.body.items.filter((entry: { action: string }) => entry.action === 'tenant.onboarded')).toHaveLength(1);

    const token = await env.signIn(body.adminEmail, retry.body.admin.temporaryPassword, 'Resumed-Admin-Pass1');
    const me = await env.call('GET', '/me', { token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ tenantId, cellId: retry.body.cellId, usage: { activeCases: 0, users: 1 } });
  });

  it('answers a retry that arrives while the first attempt is still running with 409, and lets that attempt finish', async () => {
    const body = { name: 'Slowpoke', tier: 'standard', adminEmail: 'slowpoke@example.com' };
    const { paused, finished: first, resume } = pauseAfter('adminCreated', body, 'slowpoke');
    await paused;
    const retry = await env.call('POST', '/admin/tenants', { token: env.operatorToken, body, headers: { 'idempotency-key': 'slowpoke' } });
    expect(retry.status).toBe(409);
    expect(retry.body.error.code).toBe('REQUEST_IN_PROGRESS');
    const sameName = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      body: { ...body, adminEmail: 'other-slowpoke@example.com' },
    });
    expect(sameName.status).toBe(409);
    expect(sameName.body.error.code).toBe('TENANT_NAME_TAKEN');
    resume();
    const done = await first;
    expect(done).toMatchObject({ status: 'ACTIVE', admin: { temporaryPassword: expect.any(String) } });

    const replay = await env.call('POST', '/admin/tenants', { token: env.operatorToken, body, headers: { 'idempotency-key': 'slowpoke' } });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual({ ...done, admin: { username: body.adminEmail } });
  });

  it('refuses to reuse an Idempotency-Key for a different request', async () => {
    const first = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      body: { name: 'Keyholder', tier: 'basic', adminEmail: 'keyholder@example.com' },
      headers: { 'idempotency-key': 'keyholder' },
    });
    expect(first.status).toBe(201);
    const reused = await env.call('POST', '/admin/tenants', {
      token: env.operatorToken,
      body: { name: 'Keyholder Two', tier: 'basic', adminEmail: 'keyholder-two@example.com' },
      headers: { 'idempotency-key': 'keyholder' },
    });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });
});

type TenantPage = { items: Array<{ tenantId: string; status: string }>; nextCursor: string | null };

/** Every tenant `GET /admin/tenants` lists for `query`, following the cursor. */
async function listAll(query: string): Promise<Array<{ tenantId: string; status: string }>> {
  const all: Array<{ tenantId: string; status: string }> = [];
  let cursor: string | null = null;
  do {
    const page: JsonResponse<TenantPage> = await env.call<TenantPage>('GET', `/admin/tenants${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
      token: env.operatorToken,
    });
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    all.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  return all;
}

describe('Cancelling an abandoned onboarding', () => {
  it('refuses an unknown status filter with 422', async () => {
    const response = await env.call('GET', '/admin/tenants?status=DELETED', { token: env.operatorToken });
    expect([response.status, response.body.error.code]).toEqual([422, 'VALIDATION_FAILED']);
  });

  const pendingSteps = Onboarding.ONBOARDING_STEPS.slice(0, Onboarding.ONBOARDING_STEPS.indexOf('activated'));

  it.each(pendingSteps)('cancels a tenant whose onboarding died after "%s": only its tombstone stays, and its name is free', async (step) => {
    const body = { name: `Abandoned ${step}`, tier: 'basic', adminEmail: `abandoned-${step.toLowerCase()}@example.com` };
    const loadBefore = Object.fromEntries((await Cell.list()).map((cell) => [cell.cellId, cell.tenantCount]));
    const tenantId = await crashAfter(step, body, `abandoned-${step}`);
    expect((await Tenant.getRecord(tenantId))?.status).toBe('PENDING');
    // Operators find abandoned onboardings by status.
    const pending = await listAll('?status=PENDING&limit=5');
    expect(pending.map((tenant) => [tenant.tenantId, tenant.status])).toContainEqual([tenantId, 'PENDING']);
    expect(pending.every((tenant) => tenant.status === 'PENDING')).toBe(true);

    const cancelled = await env.call('DELETE', `/admin/tenants/${tenantId}`, { token: env.operatorToken, body: { reason: 'abandoned onboarding' } });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({ tenantId, status: 'OFFBOARDED' });

    // Nothing the dead attempt created is left: key, admin user, slot.
    expect(await apiKeysOf(tenantId)).toEqual({ count: 0, plans: [] });
    await expect(adminUser(body.adminEmail)).rejects.toMatchObject({ name: 'UserNotFoundException' });
    const cells = await Cell.list();
    expect(cells.filter((cell) => cell.tenants?.has(tenantId))).toEqual([]);
    expect(Object.fromEntries(cells.map((cell) => [cell.cellId, cell.tenantCount]))).toEqual(loadBefore);
    const audit = await env.call('GET', `/admin/tenants/${tenantId}/audit`, { token: env.operatorToken });
    expect(audit.body.items.at(-1)).toMatchObject({
      action: 'tenant.offboarded',
      reason: 'abandoned onboarding',
      before: { status: 'PENDING' },
      after: { status: 'OFFBOARDED' },
    });

    // The dead request, replayed, does not bring the tenant back; the name can be onboarded anew.
    const replay = await env.call('POST', '/admin/tenants', { token: env.operatorToken, body, headers: { 'idempotency-key': `abandoned-${step}` } });
    expect([replay.status, replay.body.error?.code]).toEqual([409, 'IDEMPOTENCY_KEY_REUSED']);
    const again = await env.call('POST', '/admin/tenants', { token: env.operatorToken, body, headers: { 'idempotency-key': `again-${step}` } });
    expect(again.status).toBe(201);
    expect(again.body.tenantId).not.toBe(tenantId);
    expect(again.body.status).toBe('ACTIVE');
  });

  it('refuses to cancel an onboarding that is still running, and changes nothing', async () => {
    const body = { name: 'Still Running', tier: 'basic', adminEmail: 'still-running@example.com' };
    const { paused, finished: first, resume } = pauseAfter('keyIssued', body, 'still-running');
    const tenantId = await paused;
    const refused = await env.call('DELETE', `/admin/tenants/${tenantId}`, { token: env.operatorToken, body: {} });
    expect([refused.status, refused.body.error.code]).toEqual([409, 'ONBOARDING_IN_PROGRESS']);
    resume();
    expect(await first).toMatchObject({ tenantId, status: 'ACTIVE' });
    expect(await apiKeysOf(tenantId)).toMatchObject({ count: 1 });
    // Once active, offboarding takes a suspension first, as for any tenant.
    const active = await env.call('DELETE', `/admin/tenants/${tenantId}`, { token: env.operatorToken, body: {} });
    expect([active.status, active.body.error.code]).toEqual([409, 'TENANT_NOT_SUSPENDED']);
  });
});

describe('The reaper of abandoned onboardings', () => {
  it('cancels onboardings that made no progress for long enough, and leaves recent and running ones alone', async () => {
    const abandonedBody = { name: 'Reaped Corp', tier: 'basic', adminEmail: 'reaped@example.com' };
    const abandoned = await crashAfter('adminCreated', abandonedBody, 'reaped');
    const { paused, finished: running, resume } = pauseAfter('keyIssued', { name: 'Running Corp', tier: 'basic', adminEmail: 'running@example.com' }, 'running-corp');
    const runningId = await paused;

    // Both made progress moments ago: an hour has not passed, nothing is touched.
    expect(await OnboardingReaper.reapAbandonedOnboardings()).toEqual({ cancelled: [], skipped: [] });

    // Counting every PENDING tenant as old enough: the dead one goes, the one still running stays.
    const reaped = await OnboardingReaper.reapAbandonedOnboardings({ olderThanMs: 0 });
    expect(reaped.cancelled).toEqual([abandoned]);
    expect(reaped.skipped).toEqual([{ tenantId: runningId, code: 'ONBOARDING_IN_PROGRESS' }]);
    expect(await apiKeysOf(abandoned)).toEqual({ count: 0, plans: [] });
    await expect(adminUser(abandonedBody.adminEmail)).rejects.toMatchObject({ name: 'UserNotFoundException' });
    const audit = await env.call('GET', `/admin/tenants/${abandoned}/audit`, { token: env.operatorToken });
    expect(audit.body.items.at(-1)).toMatchObject({
      action: 'tenant.offboarded',
      actor: 'system',
      reason: expect.stringMatching(/^Abandoned onboarding: no progress since /),
      before: { status: 'PENDING' },
    });

    resume();
    expect(await running).toMatchObject({ tenantId: runningId, status: 'ACTIVE' });
    // Nothing is left for the next run.
    expect(await OnboardingReaper.reapAbandonedOnboardings({ olderThanMs: 0 })).toEqual({ cancelled: [], skipped: [] });
  });
});
