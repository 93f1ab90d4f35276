/**
 * `npm start` keeps its data (issue 11, items 4 and 5): a platform started again on the same data
 * directory (and the same ports, as `npm start`'s fixed block gives it) finds tenants, users, cases,
 * evidence, API keys and signing keys as the last run left them; an emptied directory starts empty;
 * and the AWS profile it writes reads the local tables as the platform administrator.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { GetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tenantRecordKey } from '@cellbook/core/keys/keys';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { call, onboardTenant, signIn, type OnboardedTenant } from '@cellbook/local/client';
import { startPlatform, type LocalPlatform, type PlatformOptions } from '@cellbook/local/platform';
import { AWS_PROFILE_NAME, awsConfigText } from '@cellbook/local/platform/aws-config';
import type { ApiGatewaySnapshot } from '@cellbook/local/aws/api-gateway';
import { DATA_LAYOUT, OPERATOR_POOL_ID, USER_POOL_ID } from '@cellbook/local/platform/aws-services';
import type { PlatformPorts } from '@cellbook/local/platform/ports';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let root: string;
let dataDir: string;
let releases: string;
/** The platform running at the moment (each step stops it before the next starts). */
let running: LocalPlatform | undefined;

/** Each run boots a platform and onboards a dedicated cell: far more than a test's 30 s on a loaded machine. */
const RUN_MS = 240_000;

const boot = async (options: PlatformOptions): Promise<LocalPlatform> => {
  // A step that failed half-way left its platform running: it stops before the next one starts.
  await stopRunning();
  running = await startPlatform({ port: 0, releases: { outRoot: releases }, ...options });
  return running;
};
const stopRunning = async () => {
  await running?.stop();
  running = undefined;
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cellbook-persistence-'));
  dataDir = join(root, 'data');
  releases = join(root, 'releases');
});
afterAll(async () => {
  await stopRunning();
  await rm(root, { recursive: true, force: true });
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** What the first run leaves behind, for the second to find. */
interface FirstRun {
  ports: PlatformPorts;
  tenant: OnboardedTenant;
  caseId: string;
  evidenceId: string;
  evidence: Buffer;
  cell: { apiId: string; usagePlans: Record<string, string> };
  /** An enterprise tenant, in the dedicated cell its placement deployed. */
  enterprise: OnboardedTenant;
  /** The detail of an event that named no tenant, which the bus dead-lettered. */
  deadLettered: { marker: string };
  adminAccessKeyId: string;
}
let first: FirstRun;

describe('a platform on a data directory', () => {
  it(
    'runs a tenant through a day: onboarding, a case, an evidence upload',
    async () => {
      const platform = await boot({ dataDir });
      const operator = await signIn(platform.url, 'operator', 'operator');
      const suffix = randomUUID().slice(0, 8);
      // Onboarded step by step (onboardTenant's two calls), to look at the disk in between.
      const onboarding = { name: `Kept ${suffix}`, tier: 'standard', adminEmail: `admin-${suffix}@example.com` };
      const onboarded = await call(platform.url, 'POST', '/admin/tenants', { token: operator, body: onboarding });
      expect(onboarded.status, JSON.stringify(onboarded.body)).toBe(201);
      const { tenantId, cellId, admin } = onboarded.body as { tenantId: string; cellId: string; admin: { username: string; temporaryPassword: string } };
      // Read at once, no stop, no wait: what a kill -9 right now would leave. The onboarding answered,
      // so the tenant's admin user and its API key are on disk beside the registry row.
      const onDisk = (file: string) => readFileSync(join(dataDir, file), 'utf8');
      expect(onDisk(DATA_LAYOUT.cognito(USER_POOL_ID))).toContain(`"${admin.username}"`);
      const gatewayOnDisk = JSON.parse(onDisk(DATA_LAYOUT.apiGateway)) as ApiGatewaySnapshot;
      const apiKey = gatewayOnDisk.apiKeys.find((key) => key.tags?.tenant === tenantId);
      expect(apiKey, 'the tenant’s API key').toBeDefined();
      expect(
        gatewayOnDisk.usagePlans.filter((plan) => plan.keyIds.includes(apiKey!.id)),
        'the key’s usage plan',
      ).toHaveLength(1);
      const password = `Kept-${suffix}-Pass1`;
      const token = await signIn(platform.url, admin.username, admin.temporaryPassword, password);
      const tenant: OnboardedTenant = { tenantId, name: onboarding.name, tier: onboarding.tier, cellId, username: admin.username, password, token };
      // Password hashes, signing keys and the administrator's keys are the owner's alone.
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      for (const file of [DATA_LAYOUT.iam, DATA_LAYOUT.cognito(USER_POOL_ID), DATA_LAYOUT.cognito(OPERATOR_POOL_ID), DATA_LAYOUT.apiGateway]) {
        expect(statSync(join(dataDir, file)).mode & 0o777, file).toBe(0o600);
      }
      const created = await call(platform.url, 'POST', '/cases', { token: tenant.token, body: { title: 'Burst pipe', priority: 'high' } });
      expect(created.status).toBe(201);
      const evidence = randomBytes(2048);
      const requested = await call(platform.url, 'POST', `/cases/${created.body.caseId}/evidence`, {
        token: tenant.token,
        body: { name: 'photo.png', contentType: 'image/png', size: evidence.byteLength, sha256: sha256(evidence) },
      });
      expect(requested.status, JSON.stringify(requested.body)).toBe(201);
      const { 'content-length': _length, ...headers } = requested.body.upload.headers as Record<string, string>;
      expect((await fetch(requested.body.upload.url, { method: 'PUT', headers, body: evidence })).status).toBe(200);
      const completed = await call(platform.url, 'POST', `/cases/${created.body.caseId}/evidence/${requested.body.evidenceId}/complete`, { token: tenant.token });
      expect(completed.status, JSON.stringify(completed.body)).toBe(200);
      const cell = platform.cells.find((candidate) => candidate.cellId === tenant.cellId)!;
      const enterprise = await onboardTenant(
        platform.url,
        operator,
        { name: `Dedicated ${suffix}`, tier: 'enterprise', adminEmail: `ops-${suffix}@example.com` },
        `Dedicated-${suffix}-Pass1`,
      );
      expect(platform.cells.map((candidate) => candidate.cellId)).toContain(enterprise.cellId);
      // An event naming no tenant: the bus's rule sends it to the dead-letter queue.
      const deadLettered = { marker: randomUUID() };
      const bus = new EventBridgeClient({ region: platform.region, endpoint: platform.endpoints.eventBridge, credentials: sdkCredentials(platform.adminCredentials) });
      await bus.send(
        new PutEventsCommand({ Entries: [{ EventBusName: platform.eventBus.name, Source: 'cellbook.test', DetailType: 'Orphan', Detail: JSON.stringify(deadLettered) }] }),
      );
      bus.destroy();
      await platform.eventBus.service.drain();
      expect(platform.eventBus.deadLetterQueue.map((entry) => (entry.event as { detail: unknown }).detail)).toContainEqual(deadLettered);
      first = {
        adminAccessKeyId: platform.adminCredentials.accessKeyId,
        enterprise,
        deadLettered,
        ports: platform.ports,
        tenant,
        caseId: created.body.caseId,
        evidenceId: requested.body.evidenceId,
        evidence,
        cell: { apiId: cell.apiId, usagePlans: { ...cell.usagePlans } },
      };
      await stopRunning();
    },
    RUN_MS,
  );

  describe('started again on the same directory and ports', () => {
    let platform: LocalPlatform;
    beforeAll(async () => {
      platform = await boot({ dataDir, ports: first.ports });
    }, RUN_MS);
    afterAll(stopRunning);

    it('accepts the token issued before the restart, and shows the case it created', async () => {
      // The token verifies (same signing key, same issuer), the tenant's API key still admits (same
      // key, same usage plan), and the case is read from the kept table.
      const found = await call(platform.url, 'GET', `/cases/${first.caseId}`, { token: first.tenant.token });
      expect(found.status, JSON.stringify(found.body)).toBe(200);
      expect(found.body.title).toBe('Burst pipe');
    });

    it('deploys again the dedicated cell an enterprise tenant was placed in, and serves that tenant there', async () => {
      const me = await call(platform.url, 'GET', '/me', { token: first.enterprise.token });
      expect(me.status, JSON.stringify(me.body)).toBe(200);
      expect(me.body).toMatchObject({ tier: 'enterprise', cellId: first.enterprise.cellId });
    });

    it('keeps the dead-letter queue', () => {
      expect(platform.eventBus.deadLetterQueue.map((entry) => (entry.event as { detail: unknown }).detail)).toContainEqual(first.deadLettered);
    });

    it('signs the admin in with the password chosen before the restart', async () => {
      const token = await signIn(platform.url, first.tenant.username, first.tenant.password);
      const me = await call(platform.url, 'GET', '/me', { token });
      expect(me.status).toBe(200);
    });

    it('serves the evidence uploaded before the restart, byte for byte', async () => {
      const found = await call(platform.url, 'GET', `/cases/${first.caseId}/evidence/${first.evidenceId}`, { token: first.tenant.token });
      expect(found.status, JSON.stringify(found.body)).toBe(200);
      const downloaded = await fetch(found.body.download.url);
      expect(downloaded.status).toBe(200);
      expect(sha256(Buffer.from(await downloaded.arrayBuffer()))).toBe(sha256(first.evidence));
    });

    it('keeps the cell’s API and usage plan ids, which the registry and the tenant’s key name', async () => {
      const cell = platform.cells.find((candidate) => candidate.cellId === first.tenant.cellId)!;
      expect({ apiId: cell.apiId, usagePlans: cell.usagePlans }).toEqual(first.cell);
      const operator = await signIn(platform.url, 'operator', 'operator');
      const listed = await call(platform.url, 'GET', '/admin/tenants', { token: operator });
      expect(listed.body.items.map((tenant: { tenantId: string }) => tenant.tenantId).sort()).toEqual([first.tenant.tenantId, first.enterprise.tenantId].sort());
    });

    it('writes an AWS profile that reads the local tables as the platform administrator', async () => {
      // The same administrator credentials as before the restart: a saved profile keeps working.
      expect(platform.adminCredentials.accessKeyId).toBe(first.adminAccessKeyId);
      const configFile = join(root, 'aws-config');
      await writeFile(configFile, awsConfigText({ region: platform.region, credentials: platform.adminCredentials, endpoints: platform.endpoints }));
      // The SDK's own shared-config loading, as the CLI and scripts use the file: the credentials and
      // each service's endpoint come from the profile alone.
      const saved = { ...process.env };
      Object.assign(process.env, { AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: join(root, 'no-credentials'), AWS_PROFILE: AWS_PROFILE_NAME });
      for (const name of Object.keys(process.env)) if (/^AWS_(ENDPOINT_URL|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|REGION)/.test(name)) delete process.env[name];
      try {
        // No options at all: region, credentials and endpoint are the SDK's own reading of the profile.
        const dynamodb = new DynamoDBClient({});
        const sts = new STSClient({});
        try {
          const { TableNames } = await dynamodb.send(new ListTablesCommand({}));
          expect(TableNames).toEqual(expect.arrayContaining(['cellbook-local-tenants', `cellbook-local-${first.tenant.cellId}`]));
          const { Item } = await DynamoDBDocumentClient.from(dynamodb).send(
            new GetCommand({ TableName: 'cellbook-local-tenants', Key: tenantRecordKey(first.tenant.tenantId) }),
          );
          expect(Item?.name).toBe(first.tenant.name);
          const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
          expect(Arn).toMatch(/:assumed-role\/cellbook-local-platform-admin\//);
        } finally {
          dynamodb.destroy();
          sts.destroy();
        }
      } finally {
        for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
        Object.assign(process.env, saved);
      }
    });
  });

  describe('started on an emptied directory (npm start -- --reset)', () => {
    let platform: LocalPlatform;
    beforeAll(async () => {
      await rm(dataDir, { recursive: true, force: true });
      platform = await boot({ dataDir, ports: first.ports });
    }, RUN_MS);
    afterAll(stopRunning);

    it('has no tenants, and refuses the token and the password from before', async () => {
      const operator = await signIn(platform.url, 'operator', 'operator');
      const listed = await call(platform.url, 'GET', '/admin/tenants', { token: operator });
      expect(listed.body.items).toEqual([]);
      expect((await call(platform.url, 'GET', `/cases/${first.caseId}`, { token: first.tenant.token })).status).toBe(401);
      await expect(signIn(platform.url, first.tenant.username, first.tenant.password)).rejects.toThrow(/401|400/);
    });
  });
});

describe('a platform without a data directory', () => {
  it(
    'keeps its state in memory: nothing appears in the working directory’s .cellbook',
    async () => {
      const listing = async () => (await readdir(join(process.cwd(), '.cellbook'), { recursive: true }).catch(() => [])).sort();
      const before = await listing();
      const platform = await boot({});
      const operator = await signIn(platform.url, 'operator', 'operator');
      const suffix = randomUUID().slice(0, 8);
      await onboardTenant(platform.url, operator, { name: `Fleeting ${suffix}`, tier: 'basic', adminEmail: `admin-${suffix}@example.com` }, `Fleeting-${suffix}-Pass1`);
      await stopRunning();
      expect(await listing()).toEqual(before);
    },
    RUN_MS,
  );
});
