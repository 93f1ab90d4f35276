import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { TENANT_ACCESS_IDENTITIES } from '@cellbook/core/access/control-identities';
import { TENANT_TAG_KEY } from '@cellbook/core/access/tenant-access-policy';
import { evidenceObjectKey, tenantObjectPrefix } from '@cellbook/core/keys/keys';
import { tenantBucket, tenantBucketIn, tenantS3Config } from '@cellbook/core/tenancy/tenant-bucket';
import { withTenant } from '@cellbook/core/tenancy/tenant-context';
import { CONTROL_EVENT_CONSUMERS, CONTROL_ROUTES, CONTROL_SCHEDULES, LOG_SUBSCRIBERS } from '@cellbook/functions/routes';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import type { LocalCellHandle } from '@cellbook/local/platform';
import { controlIdentityOf } from '@cellbook/core/access/control-identities';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform } from '../support/platform.js';

/**
 * The S3 half of the tenant fence (DESIGN §11), through the real local platform: its S3 endpoint,
 * its IAM, its STS and the cell's own roles. A tenant session is opened the way the cell's functions
 * open one (its API role assumes the tenant access role, tagged), and every refusal is shown next to
 * a positive control — the same call for the right tenant succeeds.
 */
const CASE_ID = '01HZY3J5V8K2M4N6P8Q0R2S4T6';
const EVIDENCE_ID = '01HZY3M1B2C3D4E5F6G7H8J9KA';
const t1Key = evidenceObjectKey('t-1', CASE_ID, EVIDENCE_ID);
const t10Key = evidenceObjectKey('t-10', CASE_ID, EVIDENCE_ID);

let env: TestPlatform;
let cell: LocalCellHandle;
let t1: S3Client;
let t10: S3Client;
const clients: S3Client[] = [];

function s3With(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string }): S3Client {
  const s3 = new S3Client({ ...tenantS3Config(credentials), endpoint: env.platform.endpoints.s3, region: env.platform.region, maxAttempts: 1 });
  clients.push(s3);
  return s3;
}

/** A tenant session as a cell function opens one: its role assumes the tenant access role with the tenant's tag. */
async function tenantClient(tenantId: string): Promise<S3Client> {
  const sts = new STSClient({ region: env.platform.region, endpoint: env.platform.endpoints.sts, credentials: sdkCredentials(env.platform.sessionFor(cell.roles.api)) });
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({ RoleArn: cell.roles.tenantAccess, RoleSessionName: `tenant-${tenantId}`, Tags: [{ Key: TENANT_TAG_KEY, Value: tenantId }] }),
  );
  sts.destroy();
  return s3With({ accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! });
}

async function errorName(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught as { name?: string },
  );
  return error?.name ?? 'allowed';
}

async function read(s3: S3Client, key: string): Promise<string> {
  return (await (await s3.send(new GetObjectCommand({ Bucket: cell.evidenceBucket, Key: key }))).Body?.transformToString()) ?? '';
}

beforeAll(async () => {
  env = await bootTestPlatform({ cells: [{ cellId: 'cell-1', placement: 'pooled', wave: 0, region: 'us-east-1', capacity: 10 }] });
  cell = env.platform.cells[0]!;
  t1 = await tenantClient('t-1');
  t10 = await tenantClient('t-10');
});

afterAll(async () => {
  for (const s3 of clients) s3.destroy();
  await env?.stop();
});

describe("a cell's evidence bucket, locally", () => {
  it('is named in the cell functions’ environment, and the functions reach it through AWS_ENDPOINT_URL_S3', () => {
    const vars = env.platform.controlFunctionEnv(CONTROL_ROUTES[0]!.handler);
    expect(vars.AWS_ENDPOINT_URL_S3).toBe(env.platform.endpoints.s3);
    expect(cell.evidenceBucket).toBe('cellbook-local-cell-1-evidence');
  });
});

describe('the S3 tenant fence through the local platform', () => {
  it('lets t-1 write, read and list its own prefix — and t-10 its own (positive controls)', async () => {
    await t1.send(new PutObjectCommand({ Bucket: cell.evidenceBucket, Key: t1Key, Body: 't-1 evidence' }));
    await t10.send(new PutObjectCommand({ Bucket: cell.evidenceBucket, Key: t10Key, Body: 't-10 evidence' }));
    expect(await read(t1, t1Key)).toBe('t-1 evidence');
    expect(await read(t10, t10Key)).toBe('t-10 evidence');
    const listing = await t1.send(new ListObjectsV2Command({ Bucket: cell.evidenceBucket, Prefix: tenantObjectPrefix('t-1') }));
    expect(listing.Contents?.map((object) => object.Key)).toEqual([t1Key]);
  });

  it("refuses a t-1 session every read, write, delete and listing of t-10's prefix, and stores nothing", async () => {
    await t10.send(new PutObjectCommand({ Bucket: cell.evidenceBucket, Key: t10Key, Body: 't-10 evidence' }));
    const intruder = evidenceObjectKey('t-10', CASE_ID, '01HZY3M1B2C3D4E5F6G7H8J9KB');
    expect(await errorName(t1.send(new GetObjectCommand({ Bucket: cell.evidenceBucket, Key: t10Key })))).toBe('AccessDenied');
    expect(await errorName(t1.send(new PutObjectCommand({ Bucket: cell.evidenceBucket, Key: t10Key, Body: 'overwritten' })))).toBe('AccessDenied');
    expect(await errorName(t1.send(new PutObjectCommand({ Bucket: cell.evidenceBucket, Key: intruder, Body: 'planted' })))).toBe('AccessDenied');
    expect(await errorName(t1.send(new DeleteObjectCommand({ Bucket: cell.evidenceBucket, Key: t10Key })))).toBe('AccessDenied');
    expect(await errorName(t1.send(new ListObjectsV2Command({ Bucket: cell.evidenceBucket, Prefix: tenantObjectPrefix('t-10') })))).toBe('AccessDenied');
    expect(await errorName(t1.send(new ListObjectsV2Command({ Bucket: cell.evidenceBucket })))).toBe('AccessDenied');
    expect(await read(t10, t10Key)).toBe('t-10 evidence');
    const listing = await t10.send(new ListObjectsV2Command({ Bucket: cell.evidenceBucket, Prefix: tenantObjectPrefix('t-10') }));
    expect(listing.Contents?.map((object) => object.Key)).toEqual([t10Key]);
  });

  it("refuses t-1's presigned URL edited to t-10's key (SignatureDoesNotMatch) and a URL t-1 signed for t-10's key (AccessDenied)", async () => {
    await t10.send(new PutObjectCommand({ Bucket: cell.evidenceBucket, Key: t10Key, Body: 't-10 evidence' }));
    const own = await getSignedUrl(t1, new GetObjectCommand({ Bucket: cell.evidenceBucket, Key: t1Key }), { expiresIn: 60 });
    const edited = own.replace('/tenant%3Dt-1/', '/tenant%3Dt-10/');
    expect(edited).not.toBe(own);
    const viaEdit = await fetch(edited);
    expect(viaEdit.status).toBe(403);
    expect(await viaEdit.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const signedForT10 = await fetch(await getSignedUrl(t1, new GetObjectCommand({ Bucket: cell.evidenceBucket, Key: t10Key }), { expiresIn: 60 }));
    expect(signedForT10.status).toBe(403);
    expect(await signedForT10.text()).toContain('<Code>AccessDenied</Code>');
    const write = await fetch(await getSignedUrl(t1, new PutObjectCommand({ Bucket: cell.evidenceBucket, Key: t10Key }), { expiresIn: 60 }), {
      method: 'PUT',
      body: 'overwritten',
    });
    expect(write.status).toBe(403);
    expect(await read(t10, t10Key)).toBe('t-10 evidence');
    // The unedited URL works: the refusals are about the edit and the key, not the URL itself.
    expect((await fetch(own)).status).toBe(200);
  });

  it('refuses an expired presigned URL', async () => {
    await t1.send(new PutObjectCommand({ Bucket: cell.evidenceBucket, Key: t1Key, Body: 't-1 evidence' }));
    // Signed two minutes ago for one minute: expired when handed out, whatever the machine's speed.
    const url = await getSignedUrl(t1, new GetObjectCommand({ Bucket: cell.evidenceBucket, Key: t1Key }), { expiresIn: 60, signingDate: new Date(Date.now() - 120_000) });
    const response = await fetch(url);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Message>Request has expired</Message>');
  });

  it('refuses every function role of the cell and of the control plane any object or listing: only tenant sessions reach the bucket', async () => {
    await t1.send(new PutObjectCommand({ Bucket: cell.evidenceBucket, Key: t1Key, Body: 't-1 evidence' }));
    const handlers = [
      ...CONTROL_ROUTES.map((route) => route.handler),
      ...CONTROL_EVENT_CONSUMERS.map((c) => c.handler),
      ...CONTROL_SCHEDULES.map((job) => job.handler),
      ...LOG_SUBSCRIBERS.map((s) => s.handler),
    ];
    const controlRoles = new Map(handlers.map((handler) => [controlIdentityOf(handler), handler]));
    const callers: [string, S3Client][] = [
      ['cell api', s3With(sdkCredentials(env.platform.sessionFor(cell.roles.api)))],
      ['cell authorizer', s3With(sdkCredentials(env.platform.sessionFor(cell.roles.authorizer)))],
      ...[...controlRoles].map(([identity, handler]): [string, S3Client] => {
        const vars = env.platform.controlFunctionEnv(handler);
        return [`control ${identity}`, s3With({ accessKeyId: vars.AWS_ACCESS_KEY_ID!, secretAccessKey: vars.AWS_SECRET_ACCESS_KEY!, sessionToken: vars.AWS_SESSION_TOKEN! })];
      }),
    ];
    expect(callers.length).toBeGreaterThan(2);
    for (const [name, s3] of callers) {
      expect(await errorName(s3.send(new GetObjectCommand({ Bucket: cell.evidenceBucket, Key: t1Key }))), name).toBe('AccessDenied');
      expect(await errorName(s3.send(new PutObjectCommand({ Bucket: cell.evidenceBucket, Key: t1Key, Body: 'overwritten' }))), name).toBe('AccessDenied');
      expect(await errorName(s3.send(new ListObjectsV2Command({ Bucket: cell.evidenceBucket, Prefix: tenantObjectPrefix('t-1') }))), name).toBe('AccessDenied');
    }
    expect(await read(t1, t1Key)).toBe('t-1 evidence');
  });
});

/** Runs `fn` with a function's environment (its role's credentials, the local endpoints, its names), restored after. */
async function inFunctionEnvironment(vars: Record<string, string | undefined>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  try {
    await fn();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const endpointVars = (vars: Record<string, string | undefined>) => ({
  AWS_REGION: vars.AWS_REGION,
  AWS_ENDPOINT_URL_STS: vars.AWS_ENDPOINT_URL_STS,
  AWS_ENDPOINT_URL_S3: vars.AWS_ENDPOINT_URL_S3,
});

describe("core's tenant buckets, run as the local platform runs functions", () => {
  it("tenantBucketIn (control plane) signs as the tenant: reaches t-1's prefix and hands out a working URL, but not t-10's prefix", async () => {
    const handler = [...CONTROL_ROUTES.map((route) => route.handler), ...CONTROL_EVENT_CONSUMERS.map((c) => c.handler), ...CONTROL_SCHEDULES.map((job) => job.handler)].find(
      (candidate) => controlIdentityOf(candidate) === TENANT_ACCESS_IDENTITIES[0],
    )!;
    const vars = env.platform.controlFunctionEnv(handler);
    await inFunctionEnvironment(
      { ...endpointVars(vars), AWS_ACCESS_KEY_ID: vars.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: vars.AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: vars.AWS_SESSION_TOKEN },
      async () => {
        const bucket = tenantBucketIn({ tenantRoleArn: cell.roles.tenantAccess, evidenceBucket: cell.evidenceBucket }, 't-1');
        await bucket.s3.send(new PutObjectCommand({ Bucket: bucket.bucket, Key: t1Key, Body: 'moved evidence' }));
        expect(await errorName(bucket.s3.send(new GetObjectCommand({ Bucket: bucket.bucket, Key: t10Key })))).toBe('AccessDenied');
        const { url, expiresAt } = await bucket.presign(new GetObjectCommand({ Bucket: bucket.bucket, Key: t1Key }), 120);
        expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(110_000);
        expect(await (await fetch(url)).text()).toBe('moved evidence');
        expect(url).toContain('X-Amz-Credential=ASIA');
      },
    );
  });

  it("tenantBucket (a cell function) signs as the request's tenant: its presigned PUT stores the declared file, and reaches no other tenant", async () => {
    const apiSession = env.platform.sessionFor(cell.roles.api);
    const vars = env.platform.controlFunctionEnv(CONTROL_ROUTES[0]!.handler);
    await inFunctionEnvironment(
      {
        ...endpointVars(vars),
        AWS_ACCESS_KEY_ID: apiSession.accessKeyId,
        AWS_SECRET_ACCESS_KEY: apiSession.secretAccessKey,
        AWS_SESSION_TOKEN: apiSession.sessionToken,
        TENANT_ROLE_ARN: cell.roles.tenantAccess,
        TABLE_NAME: cell.tableName,
        EVIDENCE_BUCKET: cell.evidenceBucket,
      },
      async () => {
        const context = { tenantId: 't-10', tier: 'standard' as const, cellId: cell.cellId, userId: 'u', username: 'admin@example.com', roles: ['admin'], overrides: {} };
        await withTenant(context, async () => {
          const bucket = tenantBucket();
          expect(bucket.bucket).toBe(cell.evidenceBucket);
          const body = 'uploaded by the browser';
          const checksum = createHash('sha256').update(body).digest('base64');
          const key = evidenceObjectKey('t-10', CASE_ID, '01HZY3M1B2C3D4E5F6G7H8J9KC');
          const { url } = await bucket.presign(new PutObjectCommand({ Bucket: bucket.bucket, Key: key, ContentLength: body.length, ChecksumSHA256: checksum }), 300);
          expect((await fetch(url, { method: 'PUT', body })).status).toBe(200);
          // Another file of the same length: the signed SHA-256 refuses it, and the stored file stays.
          expect((await fetch(url, { method: 'PUT', body: 'uploaded by the BROWSER' })).status).toBe(400);
          expect(await read(t10, key)).toBe(body);
          expect(await errorName(bucket.s3.send(new GetObjectCommand({ Bucket: bucket.bucket, Key: t1Key })))).toBe('AccessDenied');
        });
      },
    );
  });
});
