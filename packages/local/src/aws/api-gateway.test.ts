import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  APIGatewayClient,
  CreateApiKeyCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeyCommand,
  GetApiKeysCommand,
  GetUsageCommand,
  GetUsagePlanCommand,
  GetUsagePlanKeysCommand,
  GetUsagePlansCommand,
  UpdateApiKeyCommand,
} from '@aws-sdk/client-api-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalApiGateway, type LocalApiGateway, type MeterOutcome } from './api-gateway.js';
import type { Authorize, RoleSession } from './types.js';
import { fakeAuthenticate, fakeRoleSession } from './test-credentials.js';

const sessions = new Map<string, { session: RoleSession; allowedActions: Set<string> }>([
  [
    'AKIACONTROLPLANE',
    { session: fakeRoleSession('AKIACONTROLPLANE', 'control-plane'), allowedActions: new Set(['apigateway:GET', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE']) },
  ],
  ['AKIAREADONLY', { session: fakeRoleSession('AKIAREADONLY', 'support-readonly'), allowedActions: new Set(['apigateway:GET']) }],
]);

const authenticate = fakeAuthenticate((id) => sessions.get(id)?.session, 403);

const authorize: Authorize = async (session, request) => {
  const ok = sessions.get(session.accessKeyId)?.allowedActions.has(request.action) ?? false;
  return { allowed: ok, reason: ok ? 'allowed by test policy' : 'no statement allows the action' };
};

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Monday 6 January 2025, 20:00 UTC. */
const MONDAY_EVENING = Date.UTC(2025, 0, 6, 20);

let clock = MONDAY_EVENING;
let server: Server;
let endpoint: string;
let gateway: LocalApiGateway;
let controlPlane: APIGatewayClient;
let readOnly: APIGatewayClient;
let stranger: APIGatewayClient;
let apiId: string;

function client(accessKeyId: string): APIGatewayClient {
  return new APIGatewayClient({ endpoint, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId, secretAccessKey: 'secret' } });
}

/** A plan with the tier table's numbers, on the `prod` stage of the test API. */
function plan(rateLimit: number, burstLimit: number, quota?: { limit: number; period: 'DAY' | 'WEEK' | 'MONTH' }, stage = 'prod'): string {
  return gateway.createUsagePlan({ name: `plan-${rateLimit}-${burstLimit}`, apiStages: [{ apiId, stage }], throttle: { rateLimit, burstLimit }, quota }).id;
}

/** An enabled API key attached to `usagePlanId`, created the way the control plane does it. */
async function tenantKey(usagePlanId: string, name = 'tenant'): Promise<{ id: string; value: string }> {
  const key = await controlPlane.send(new CreateApiKeyCommand({ name, enabled: true }));
  await controlPlane.send(new CreateUsagePlanKeyCommand({ usagePlanId, keyId: key.id, keyType: 'API_KEY' }));
  return { id: key.id ?? '', value: key.value ?? '' };
}

function burst(apiKeyValue: string, requests: number, stage = 'prod'): Record<MeterOutcome['outcome'], number> {
  const tally = { allowed: 0, forbidden: 0, throttled: 0, 'quota-exceeded': 0 };
  for (let i = 0; i < requests; i++) tally[gateway.meter({ apiId, stage, apiKeyValue }).outcome]++;
  return tally;
}

beforeAll(async () => {
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gateway = createLocalApiGateway({ authenticate, authorize, now: () => clock });
  server.on('request', gateway.listener);
  controlPlane = client('AKIACONTROLPLANE');
  readOnly = client('AKIAREADONLY');
  stranger = client('AKIAUNKNOWN');
  apiId = gateway.createRestApi('cell-1').id;
});

afterAll(async () => {
  for (const c of [controlPlane, readOnly, stranger]) c.destroy();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

describe('API keys (management API)', () => {
  it('creates a key with a 10-character id and a 40-character alphanumeric value, disabled unless asked', async () => {
    clock = MONDAY_EVENING;
    const created = await controlPlane.send(new CreateApiKeyCommand({ name: 'acme', description: 'tenant acme', tags: { TenantId: 'acme' } }));
    expect(created.$metadata.httpStatusCode).toBe(201);
    expect(created.id).toMatch(/^[a-z0-9]{10}$/);
    expect(created.value).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(created).toMatchObject({ name: 'acme', description: 'tenant acme', enabled: false, tags: { TenantId: 'acme' } });
    expect(created.createdDate).toEqual(new Date(MONDAY_EVENING));

    const withoutValue = await controlPlane.send(new GetApiKeyCommand({ apiKey: created.id }));
    expect(withoutValue.value).toBeUndefined();
    const withValue = await controlPlane.send(new GetApiKeyCommand({ apiKey: created.id, includeValue: true }));
    expect(withValue.value).toBe(created.value);
  });

  it('accepts a caller-chosen value of at least 20 characters and refuses a duplicate value', async () => {
    const value = 'k'.repeat(19);
    await expect(controlPlane.send(new CreateApiKeyCommand({ name: 'short', value }))).rejects.toMatchObject({
      name: 'BadRequestException',
      message: 'API Key value should be at least 20 characters',
      $metadata: { httpStatusCode: 400 },
    });
    await controlPlane.send(new CreateApiKeyCommand({ name: 'chosen', value: `${value}k` }));
    await expect(controlPlane.send(new CreateApiKeyCommand({ name: 'copy', value: `${value}k` }))).rejects.toMatchObject({
      name: 'ConflictException',
      message: 'API Key already exists',
      $metadata: { httpStatusCode: 409 },
    });
  });

  it('lists keys by name prefix, pages with limit and position, and includes values only on request', async () => {
    for (const name of ['list-a', 'list-b', 'list-c']) await controlPlane.send(new CreateApiKeyCommand({ name }));
    const names: string[] = [];
    let position: string | undefined;
    do {
      const page = await controlPlane.send(new GetApiKeysCommand({ nameQuery: 'list-', limit: 2, position }));
      expect(page.items?.length).toBeLessThanOrEqual(2);
      for (const key of page.items ?? []) {
        expect(key.value).toBeUndefined();
        names.push(key.name ?? '');
      }
      position = page.position;
    } while (position);
    expect(names.sort()).toEqual(['list-a', 'list-b', 'list-c']);

    const withValues = await controlPlane.send(new GetApiKeysCommand({ nameQuery: 'list-a', includeValues: true }));
    expect(withValues.items).toHaveLength(1);
    expect(withValues.items?.[0]?.value).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  it('disables and re-enables a key with a replace /enabled patch', async () => {
    const key = await controlPlane.send(new CreateApiKeyCommand({ name: 'toggle', enabled: true }));
    const disabled = await controlPlane.send(new UpdateApiKeyCommand({ apiKey: key.id, patchOperations: [{ op: 'replace', path: '/enabled', value: 'false' }] }));
    expect(disabled.enabled).toBe(false);
    expect((await controlPlane.send(new GetApiKeyCommand({ apiKey: key.id }))).enabled).toBe(false);
    await expect(
      controlPlane.send(new UpdateApiKeyCommand({ apiKey: key.id, patchOperations: [{ op: 'replace', path: '/value', value: 'x'.repeat(40) }] })),
    ).rejects.toMatchObject({ name: 'BadRequestException' });
    const enabled = await controlPlane.send(new UpdateApiKeyCommand({ apiKey: key.id, patchOperations: [{ op: 'replace', path: '/enabled', value: 'true' }] }));
    expect(enabled.enabled).toBe(true);
  });

  it('answers NotFoundException for an unknown key, with the error type header and message body of the real service', async () => {
    await expect(controlPlane.send(new GetApiKeyCommand({ apiKey: 'nosuchkey0' }))).rejects.toMatchObject({
      name: 'NotFoundException',
      message: 'Invalid API Key identifier specified',
      $metadata: { httpStatusCode: 404 },
    });
    const response = await fetch(`${endpoint}/apikeys/nosuchkey0`, {
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIACONTROLPLANE/20250106/us-east-1/apigateway/aws4_request, SignedHeaders=host, Signature=00' },
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-amzn-errortype')?.split(':')[0]).toBe('NotFoundException');
    expect(await response.json()).toEqual({ message: 'Invalid API Key identifier specified' });
  });

  it('deletes a key, detaching it from its usage plan so it no longer passes metering', async () => {
    const planId = plan(10, 20);
    const key = await tenantKey(planId, 'leaving');
    expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: key.value }).outcome).toBe('allowed');
    const deleted = await controlPlane.send(new DeleteApiKeyCommand({ apiKey: key.id }));
    expect(deleted.$metadata.httpStatusCode).toBe(202);
    await expect(controlPlane.send(new GetApiKeyCommand({ apiKey: key.id }))).rejects.toMatchObject({ name: 'NotFoundException' });
    expect((await controlPlane.send(new GetUsagePlanKeysCommand({ usagePlanId: planId }))).items).toEqual([]);
    expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: key.value }).outcome).toBe('forbidden');
  });
});

describe('usage plans and usage plan keys (management API)', () => {
  it('reads back the deployed plan with its stages, throttle and quota', async () => {
    const planId = plan(10, 20, { limit: 10_000, period: 'DAY' });
    const read = await controlPlane.send(new GetUsagePlanCommand({ usagePlanId: planId }));
    expect(read).toMatchObject({
      id: planId,
      apiStages: [{ apiId, stage: 'prod' }],
      throttle: { rateLimit: 10, burstLimit: 20 },
      quota: { limit: 10_000, offset: 0, period: 'DAY' },
    });
    await expect(controlPlane.send(new GetUsagePlanCommand({ usagePlanId: 'nope00' }))).rejects.toMatchObject({
      name: 'NotFoundException',
      message: 'Invalid Usage Plan ID specified',
    });
  });

  it('attaches a key to a plan, lists it, finds the plan by key id and detaches it', async () => {
    const planId = plan(50, 100);
    const key = await controlPlane.send(new CreateApiKeyCommand({ name: 'globex', enabled: true }));
    const attached = await controlPlane.send(new CreateUsagePlanKeyCommand({ usagePlanId: planId, keyId: key.id, keyType: 'API_KEY' }));
    expect(attached).toMatchObject({ id: key.id, type: 'API_KEY', value: key.value, name: 'globex', $metadata: { httpStatusCode: 201 } });

    const listed = await controlPlane.send(new GetUsagePlanKeysCommand({ usagePlanId: planId }));
    expect(listed.items).toEqual([{ id: key.id, type: 'API_KEY', value: key.value, name: 'globex' }]);
    const plans = await controlPlane.send(new GetUsagePlansCommand({ keyId: key.id }));
    expect(plans.items?.map((p) => p.id)).toEqual([planId]);

    await controlPlane.send(new DeleteUsagePlanKeyCommand({ usagePlanId: planId, keyId: key.id }));
    expect((await controlPlane.send(new GetUsagePlansCommand({ keyId: key.id }))).items).toEqual([]);
    await expect(controlPlane.send(new DeleteUsagePlanKeyCommand({ usagePlanId: planId, keyId: key.id }))).rejects.toMatchObject({
      name: 'NotFoundException',
      message: 'Invalid Usage Plan Key identifier specified',
    });
  });

  it('refuses a second plan for the same key on the same API stage with ConflictException, but allows another stage', async () => {
    const basic = plan(10, 20);
    const standard = plan(50, 100);
    const staging = plan(10, 20, undefined, 'staging');
    const key = await tenantKey(basic, 'upgrading');
    await expect(controlPlane.send(new CreateUsagePlanKeyCommand({ usagePlanId: standard, keyId: key.id, keyType: 'API_KEY' }))).rejects.toMatchObject({
      name: 'ConflictException',
      message: `Usage Plan ${standard} cannot be added because API Key ${key.id} cannot reference multiple Usage Plans with the same API Stage: ${apiId}:prod`,
      $metadata: { httpStatusCode: 409 },
    });
    await expect(controlPlane.send(new CreateUsagePlanKeyCommand({ usagePlanId: staging, keyId: key.id, keyType: 'API_KEY' }))).resolves.toMatchObject({ id: key.id });
  });

  it('reports daily [used, remaining] per key for a date range', async () => {
    clock = MONDAY_EVENING;
    const planId = plan(100, 100, { limit: 1000, period: 'WEEK' });
    const key = await tenantKey(planId, 'reported');
    burst(key.value, 30);
    clock = MONDAY_EVENING + DAY_MS;
    burst(key.value, 12);
    const usage = await controlPlane.send(new GetUsageCommand({ usagePlanId: planId, keyId: key.id, startDate: '2025-01-06', endDate: '2025-01-08' }));
    expect(usage).toMatchObject({ usagePlanId: planId, startDate: '2025-01-06', endDate: '2025-01-08' });
    expect(usage.items).toEqual({
      [key.id]: [
        [30, 970],
        [12, 958],
        [0, 958],
      ],
    });
  });
});

describe('what a resumed onboarding or tier change repeats (management API)', () => {
  it('refuses a key already in the plan with ConflictException and keeps it there once', async () => {
    const planId = plan(10, 20);
    const key = await tenantKey(planId, 'twice');
    await expect(controlPlane.send(new CreateUsagePlanKeyCommand({ usagePlanId: planId, keyId: key.id, keyType: 'API_KEY' }))).rejects.toMatchObject({
      name: 'ConflictException',
      $metadata: { httpStatusCode: 409 },
    });
    expect((await controlPlane.send(new GetUsagePlanKeysCommand({ usagePlanId: planId }))).items?.map((item) => item.id)).toEqual([key.id]);
    expect((await controlPlane.send(new GetUsagePlansCommand({ keyId: key.id }))).items?.map((item) => item.id)).toEqual([planId]);
  });

  it('answers NotFoundException for deleting a key that no longer exists', async () => {
    const key = await controlPlane.send(new CreateApiKeyCommand({ name: 'deleted-twice', enabled: true }));
    await controlPlane.send(new DeleteApiKeyCommand({ apiKey: key.id }));
    await expect(controlPlane.send(new DeleteApiKeyCommand({ apiKey: key.id }))).rejects.toMatchObject({
      name: 'NotFoundException',
      message: 'Invalid API Key identifier specified',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('matches a name query as a prefix, so tenant-t-1 also lists tenant-t-10', async () => {
    for (const name of ['tenant-t-1', 'tenant-t-10', 'tenant-t-2']) await controlPlane.send(new CreateApiKeyCommand({ name, enabled: true }));
    const listed = await controlPlane.send(new GetApiKeysCommand({ nameQuery: 'tenant-t-1', includeValues: true, limit: 500 }));
    expect(listed.items?.map((item) => item.name).sort()).toEqual(['tenant-t-1', 'tenant-t-10']);
    for (const item of listed.items ?? []) expect(item.value).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  it('lists the plans a key is in across API stages, and pages them', async () => {
    const prod = plan(10, 20);
    const staging = plan(10, 20, undefined, 'staging');
    const key = await tenantKey(prod, 'two-stages');
    await controlPlane.send(new CreateUsagePlanKeyCommand({ usagePlanId: staging, keyId: key.id, keyType: 'API_KEY' }));
    const first = await controlPlane.send(new GetUsagePlansCommand({ keyId: key.id, limit: 1 }));
    expect(first.items).toHaveLength(1);
    const second = await controlPlane.send(new GetUsagePlansCommand({ keyId: key.id, limit: 1, position: first.position }));
    expect([...(first.items ?? []), ...(second.items ?? [])].map((item) => item.id).sort()).toEqual([prod, staging].sort());
    expect(second.position).toBeUndefined();
  });
});

describe("core's API key adapter against the stand-in", () => {
  let Adapter: typeof import('@cellbook/core/integrations/api-gateway');
  const saved: Record<string, string | undefined> = {};
  const env = { AWS_ENDPOINT_URL_API_GATEWAY: '', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIACONTROLPLANE', AWS_SECRET_ACCESS_KEY: 'secret' };

  beforeAll(async () => {
    // The adapter builds its client from the environment on first use, exactly as in a function.
    for (const [name, value] of Object.entries({ ...env, AWS_ENDPOINT_URL_API_GATEWAY: endpoint })) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
    Adapter = await import('@cellbook/core/integrations/api-gateway');
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('converges on one key in the plan however often ensureTenantApiKey runs', async () => {
    clock = MONDAY_EVENING;
    const planId = plan(10, 20);
    const first = await Adapter.ensureTenantApiKey({ tenantId: 'resumed', usagePlanId: planId });
    const again = await Adapter.ensureTenantApiKey({ tenantId: 'resumed', usagePlanId: planId });
    expect(again).toEqual(first);
    const named = await controlPlane.send(new GetApiKeysCommand({ nameQuery: 'tenant-resumed', limit: 500 }));
    expect(named.items?.map((item) => item.id)).toEqual([first.apiKeyId]);
    expect((await controlPlane.send(new GetUsagePlanKeysCommand({ usagePlanId: planId }))).items?.map((item) => item.id)).toEqual([first.apiKeyId]);
    expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: first.value }).outcome).toBe('allowed');
  });

  it('finds only its own tenant’s key among keys sharing the name prefix', async () => {
    const planId = plan(10, 20);
    const t10 = await Adapter.ensureTenantApiKey({ tenantId: 'p-10', usagePlanId: planId });
    expect(await Adapter.findTenantApiKey('p-1')).toBeUndefined();
    const t1 = await Adapter.ensureTenantApiKey({ tenantId: 'p-1', usagePlanId: planId });
    expect(t1.apiKeyId).not.toBe(t10.apiKeyId);
    expect(await Adapter.findTenantApiKey('p-1')).toEqual(t1);
  });

  it('refuses to call a key in another plan of the same stage "done"', async () => {
    const basic = plan(10, 20);
    const premium = plan(200, 400);
    await Adapter.ensureTenantApiKey({ tenantId: 'misplaced', usagePlanId: premium });
    await expect(Adapter.ensureTenantApiKey({ tenantId: 'misplaced', usagePlanId: basic })).rejects.toMatchObject({ name: 'ConflictException' });
  });

  it('finishes a move that stopped halfway and does nothing when repeated', async () => {
    clock = MONDAY_EVENING;
    const basic = plan(10, 20);
    const standard = plan(50, 100);
    const key = await Adapter.ensureTenantApiKey({ tenantId: 'mover', usagePlanId: basic });
    // The crashed attempt got as far as leaving the old plan.
    await controlPlane.send(new DeleteUsagePlanKeyCommand({ usagePlanId: basic, keyId: key.apiKeyId }));
    await Adapter.moveApiKey({ apiKeyId: key.apiKeyId, fromUsagePlanId: basic, toUsagePlanId: standard });
    await Adapter.moveApiKey({ apiKeyId: key.apiKeyId, fromUsagePlanId: basic, toUsagePlanId: standard });
    expect((await controlPlane.send(new GetUsagePlansCommand({ keyId: key.apiKeyId }))).items?.map((item) => item.id)).toEqual([standard]);
    expect(burst(key.value, 101)).toMatchObject({ allowed: 100, throttled: 1 });
  });

  it('moves a key between plans of two different APIs (a move to another cell)', async () => {
    const otherApi = gateway.createRestApi('cell-2').id;
    const here = plan(10, 20);
    const there = gateway.createUsagePlan({ name: 'cell-2-basic', apiStages: [{ apiId: otherApi, stage: 'prod' }], throttle: { rateLimit: 10, burstLimit: 20 } }).id;
    const key = await Adapter.ensureTenantApiKey({ tenantId: 'emigrant', usagePlanId: here });
    await Adapter.moveApiKey({ apiKeyId: key.apiKeyId, fromUsagePlanId: here, toUsagePlanId: there });
    expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: key.value }).outcome).toBe('forbidden');
    expect(gateway.meter({ apiId: otherApi, stage: 'prod', apiKeyValue: key.value }).outcome).toBe('allowed');
  });

  it('deletes a key, and deleting it again is not an error', async () => {
    const key = await Adapter.ensureTenantApiKey({ tenantId: 'leaver', usagePlanId: plan(10, 20) });
    await Adapter.deleteApiKey(key.apiKeyId);
    await expect(Adapter.deleteApiKey(key.apiKeyId)).resolves.toBeUndefined();
    expect(await Adapter.findTenantApiKey('leaver')).toBeUndefined();
  });
});

describe('management API authorization', () => {
  it('denies a verb the caller’s policy does not allow, naming the API Gateway resource', async () => {
    const key = await controlPlane.send(new CreateApiKeyCommand({ name: 'protected' }));
    await expect(readOnly.send(new GetApiKeyCommand({ apiKey: key.id }))).resolves.toMatchObject({ id: key.id });
    await expect(readOnly.send(new DeleteApiKeyCommand({ apiKey: key.id }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message:
        `User: arn:aws:sts::000000000000:assumed-role/support-readonly/test is not authorized to perform: apigateway:DELETE ` +
        `on resource: arn:aws:apigateway:us-east-1::/apikeys/${key.id} because no identity-based policy allows the apigateway:DELETE action`,
      $metadata: { httpStatusCode: 403 },
    });
    await expect(controlPlane.send(new GetApiKeyCommand({ apiKey: key.id }))).resolves.toMatchObject({ id: key.id });
  });

  it('passes the authenticator’s error through for unknown credentials', async () => {
    await expect(stranger.send(new GetApiKeysCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException', $metadata: { httpStatusCode: 403 } });
  });
});

describe('usage plan metering', () => {
  it('throttles the 21st request in the same instant for a basic key and refills at 10 per second', async () => {
    clock = MONDAY_EVENING;
    const key = await tenantKey(plan(10, 20, { limit: 10_000, period: 'DAY' }));
    expect(burst(key.value, 21)).toMatchObject({ allowed: 20, throttled: 1 });
    clock += 100;
    expect(burst(key.value, 2)).toMatchObject({ allowed: 1, throttled: 1 });
    clock += 1000;
    expect(burst(key.value, 11)).toMatchObject({ allowed: 10, throttled: 1 });
  });

  it('never refills beyond the burst limit, however long the key was idle', async () => {
    clock = MONDAY_EVENING;
    const key = await tenantKey(plan(10, 20));
    burst(key.value, 20);
    clock += HOUR_MS;
    expect(burst(key.value, 25)).toMatchObject({ allowed: 20, throttled: 5 });
  });

  it('gives every key in a plan its own bucket', async () => {
    clock = MONDAY_EVENING;
    const planId = plan(10, 20);
    const noisy = await tenantKey(planId, 'noisy');
    const quiet = await tenantKey(planId, 'quiet');
    expect(burst(noisy.value, 50)).toMatchObject({ allowed: 20, throttled: 30 });
    expect(burst(quiet.value, 20)).toMatchObject({ allowed: 20, throttled: 0 });
  });

  it('refuses requests once the daily quota is used up and accepts them again from the next UTC midnight', async () => {
    clock = MONDAY_EVENING;
    const planId = plan(10, 20, { limit: 10_000, period: 'DAY' });
    const key = await tenantKey(planId);
    for (let i = 0; i < 10_000; i++) {
      expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: key.value }).outcome).toBe('allowed');
      clock += 100;
    }
    expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: key.value })).toEqual({ outcome: 'quota-exceeded' });
    expect(gateway.usage(key.id)).toEqual({ usagePlanId: planId, used: 10_000, remaining: 0, windowEndsAt: Date.UTC(2025, 0, 7) });

    clock = Date.UTC(2025, 0, 7) - 1;
    expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: key.value }).outcome).toBe('quota-exceeded');
    clock = Date.UTC(2025, 0, 7);
    expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: key.value }).outcome).toBe('allowed');
    expect(gateway.usage(key.id)).toEqual({ usagePlanId: planId, used: 1, remaining: 9_999, windowEndsAt: Date.UTC(2025, 0, 8) });
  });

  it('does not count throttled requests against the quota', async () => {
    clock = MONDAY_EVENING;
    const key = await tenantKey(plan(1, 2, { limit: 5, period: 'DAY' }));
    expect(burst(key.value, 10)).toMatchObject({ allowed: 2, throttled: 8, 'quota-exceeded': 0 });
    expect(gateway.usage(key.id)).toMatchObject({ used: 2, remaining: 3 });
    clock += 3000;
    expect(burst(key.value, 2)).toMatchObject({ allowed: 2 });
    clock += 3000;
    expect(burst(key.value, 2)).toMatchObject({ allowed: 1, 'quota-exceeded': 1 });
  });

  it('resets a weekly quota on Monday 00:00 UTC and a monthly quota on the 1st', async () => {
    clock = MONDAY_EVENING;
    const weekly = await tenantKey(plan(100, 100, { limit: 3, period: 'WEEK' }), 'weekly');
    expect(burst(weekly.value, 4)).toMatchObject({ allowed: 3, 'quota-exceeded': 1 });
    clock = Date.UTC(2025, 0, 12, 23, 59, 59);
    expect(burst(weekly.value, 1)).toMatchObject({ 'quota-exceeded': 1 });
    expect(gateway.usage(weekly.id)?.windowEndsAt).toBe(Date.UTC(2025, 0, 13));
    clock = Date.UTC(2025, 0, 13);
    expect(burst(weekly.value, 1)).toMatchObject({ allowed: 1 });

    clock = Date.UTC(2025, 0, 2);
    const monthly = await tenantKey(plan(100, 100, { limit: 3, period: 'MONTH' }), 'monthly');
    expect(burst(monthly.value, 3)).toMatchObject({ allowed: 3 });
    clock = Date.UTC(2025, 0, 31, 23, 59, 59);
    expect(burst(monthly.value, 1)).toMatchObject({ 'quota-exceeded': 1 });
    clock = Date.UTC(2025, 1, 1);
    expect(burst(monthly.value, 3)).toMatchObject({ allowed: 3 });
  });

  it('forbids unknown, missing, disabled and unattached keys, and keys attached for another stage', async () => {
    clock = MONDAY_EVENING;
    const planId = plan(10, 20);
    expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: 'x'.repeat(40) })).toEqual({ outcome: 'forbidden' });
    expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: undefined })).toEqual({ outcome: 'forbidden' });

    const unattached = await controlPlane.send(new CreateApiKeyCommand({ name: 'unattached', enabled: true }));
    expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: unattached.value })).toEqual({ outcome: 'forbidden' });

    const key = await tenantKey(planId, 'suspended');
    expect(gateway.meter({ apiId, stage: 'staging', apiKeyValue: key.value })).toEqual({ outcome: 'forbidden' });
    expect(gateway.meter({ apiId: 'otherapi00', stage: 'prod', apiKeyValue: key.value })).toEqual({ outcome: 'forbidden' });
    await controlPlane.send(new UpdateApiKeyCommand({ apiKey: key.id, patchOperations: [{ op: 'replace', path: '/enabled', value: 'false' }] }));
    expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: key.value })).toEqual({ outcome: 'forbidden' });
    await controlPlane.send(new UpdateApiKeyCommand({ apiKey: key.id, patchOperations: [{ op: 'replace', path: '/enabled', value: 'true' }] }));
    expect(gateway.meter({ apiId, stage: 'prod', apiKeyValue: key.value })).toEqual({ outcome: 'allowed' });
  });

  it('starts a key moved to another plan with that plan’s full bucket', async () => {
    clock = MONDAY_EVENING;
    const basic = plan(10, 20);
    const standard = plan(50, 100);
    const key = await tenantKey(basic, 'moving');
    expect(burst(key.value, 21)).toMatchObject({ allowed: 20, throttled: 1 });
    await controlPlane.send(new DeleteUsagePlanKeyCommand({ usagePlanId: basic, keyId: key.id }));
    await controlPlane.send(new CreateUsagePlanKeyCommand({ usagePlanId: standard, keyId: key.id, keyType: 'API_KEY' }));
    expect(burst(key.value, 101)).toMatchObject({ allowed: 100, throttled: 1 });
  });

  it('applies an updated plan’s limits to existing keys from the next request', async () => {
    clock = MONDAY_EVENING;
    const planId = plan(10, 20, { limit: 100, period: 'DAY' });
    const key = await tenantKey(planId, 'upgraded');
    burst(key.value, 20);
    gateway.updateUsagePlan(planId, { throttle: { rateLimit: 50, burstLimit: 100 }, quota: null });
    clock += 1000;
    expect(burst(key.value, 51)).toMatchObject({ allowed: 50, throttled: 1 });
    expect(gateway.usage(key.id)).toMatchObject({ used: 70, remaining: null });
  });

  it('does not rate limit or count against a quota a plan that sets neither', async () => {
    clock = MONDAY_EVENING;
    const planId = gateway.createUsagePlan({ name: 'unlimited', apiStages: [{ apiId, stage: 'prod' }] }).id;
    const key = await tenantKey(planId, 'enterprise');
    expect(burst(key.value, 5000)).toMatchObject({ allowed: 5000 });
    expect(gateway.usage(key.id)).toMatchObject({ used: 5000, remaining: null, windowEndsAt: Date.UTC(2025, 0, 7) });
  });
});
