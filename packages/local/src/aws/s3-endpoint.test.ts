import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Sha256 } from '@aws-crypto/sha256-js';
import aws4 from 'aws4';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { evidenceObjectKey, exportObjectKey, tenantObjectPrefix } from '@cellbook/core/keys/keys';
import { tenantS3Config } from '@cellbook/core/tenancy/tenant-bucket';
import { ADMIN_ROLE, API_ROLE, BUCKET, TENANT_ROLE, adminRole, apiRole, tenantAccessRole } from './cell-roles.fixture.js';
import { LocalIam, sdkCredentials } from './local-iam.js';
import { createLocalS3, type LocalS3 } from './s3-endpoint.js';
import { MemoryObjectStore } from './s3-storage.js';
import { rejection } from './sdk-rejection.fixture.js';
import type { RoleSession } from './types.js';

const CASE_ID = '01HZY3J5V8K2M4N6P8Q0R2S4T6';
const EVIDENCE_ID = '01HZY3M1B2C3D4E5F6G7H8J9KA';
const ORIGIN = 'http://127.0.0.1:3000';
const t1Key = evidenceObjectKey('t-1', CASE_ID, EVIDENCE_ID);
const t10Key = evidenceObjectKey('t-10', CASE_ID, EVIDENCE_ID);

/** Moves the endpoint's clock; clients sign with the real one, as a URL handed out earlier would be. */
let clockOffsetMs = 0;
const iam = new LocalIam({ now: () => Date.now() + clockOffsetMs });
let server: Server;
let endpoint: string;
let s3: LocalS3;
let t1Session: RoleSession;
let t1: S3Client;
let t10: S3Client;
let admin: S3Client;
let api: S3Client;

function client(session: RoleSession, systemClockOffset = 0): S3Client {
  // The settings core's tenantBucket() uses, pointed at the local endpoint.
  return new S3Client({ ...tenantS3Config(sdkCredentials(session)), endpoint, region: 'us-east-1', maxAttempts: 1, systemClockOffset });
}

function tenantSession(tenantId: string): RoleSession {
  return iam.issueRoleSession(TENANT_ROLE, `tenant-${tenantId}`, { TenantId: tenantId }, 900);
}

async function exists(key: string): Promise<boolean> {
  const error = await rejection(admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(() => Promise.reject(new Error('exists'))));
  if (error.message === 'exists') return true;
  expect(error.name).toBe('NotFound');
  return false;
}

async function put(s3Client: S3Client, key: string, body: string): Promise<void> {
  await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'text/plain' }));
}

function sha256Base64(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('base64');
}

/** A request signed in the header form by hand, for what the SDK would never send. */
async function signedFetch(session: RoleSession, input: { method: string; key: string; body?: string; headers?: Record<string, string> }): Promise<Response> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ service: 's3', region: 'us-east-1', sha256: Sha256, credentials: sdkCredentials(session), uriEscapePath: false, applyChecksum: false });
  const path = `/${BUCKET}/${input.key.split('/').map(encodeURIComponent).join('/')}`;
  const request = await signer.sign(
    new HttpRequest({
      method: input.method,
      hostname: url.hostname,
      port: Number(url.port),
      path,
      headers: {
        host: url.host,
        'x-amz-content-sha256': createHash('sha256')
          .update(input.body ?? '')
          .digest('hex'),
        ...input.headers,
      },
      ...(input.body === undefined ? {} : { body: input.body }),
    }),
  );
  return fetch(`${endpoint}${path}`, { method: input.method, headers: request.headers, ...(input.body === undefined ? {} : { body: input.body }) });
}

beforeAll(async () => {
  for (const role of [apiRole, tenantAccessRole(), adminRole]) iam.createRole(role);
  s3 = createLocalS3({ iam, store: new MemoryObjectStore() });
  await s3.createBucket(BUCKET, { corsOrigins: () => [ORIGIN] });
  server = createServer(s3.listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t1Session = tenantSession('t-1');
  t1 = client(t1Session);
  t10 = client(tenantSession('t-10'));
  admin = client(iam.issueRoleSession(ADMIN_ROLE, 'operator'));
  api = client(iam.issueRoleSession(API_ROLE, 'lambda'));
});

beforeEach(() => {
  clockOffsetMs = 0;
});

afterAll(async () => {
  for (const s3Client of [t1, t10, admin, api]) s3Client?.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('local S3 endpoint: a tenant session on its own prefix', () => {
  it('puts an object with its SHA-256, reads it back, and returns the stored checksum when asked', async () => {
    const body = 'evidence bytes';
    const put = await t1.send(new PutObjectCommand({ Bucket: BUCKET, Key: t1Key, Body: body, ContentType: 'application/pdf', ChecksumSHA256: sha256Base64(body) }));
    expect(put.ETag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    const got = await t1.send(new GetObjectCommand({ Bucket: BUCKET, Key: t1Key }));
    expect(await got.Body?.transformToString()).toBe(body);
    expect(got.ContentType).toBe('application/pdf');
    const head = await t1.send(new HeadObjectCommand({ Bucket: BUCKET, Key: t1Key, ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumSHA256).toBe(sha256Base64(body));
    expect(head.ContentLength).toBe(body.length);
  });

  it('serves a byte range with 206', async () => {
    await put(t1, t1Key, '0123456789');
    const got = await t1.send(new GetObjectCommand({ Bucket: BUCKET, Key: t1Key, Range: 'bytes=2-5' }));
    expect(got.$metadata.httpStatusCode).toBe(206);
    expect(got.ContentRange).toBe('bytes 2-5/10');
    expect(await got.Body?.transformToString()).toBe('2345');
  });

  it('lists its own prefix page by page with continuation tokens', async () => {
    const prefix = `${tenantObjectPrefix('t-1')}list/`;
    const keys = ['a', 'b', 'c', 'd', 'e'].map((name) => `${prefix}${name}`);
    for (const key of keys) await put(t1, key, key);
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await t1.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, MaxKeys: 2, ...(token ? { ContinuationToken: token } : {}) }));
      listed.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
      expect(page.KeyCount).toBeLessThanOrEqual(2);
      token = page.NextContinuationToken;
    } while (token);
    expect(listed).toEqual(keys);
  });

  it('groups keys under a delimiter into common prefixes', async () => {
    const prefix = `${tenantObjectPrefix('t-1')}tree/`;
    for (const name of ['x/1', 'x/2', 'y/1', 'z']) await put(t1, `${prefix}${name}`, name);
    const page = await t1.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, Delimiter: '/' }));
    expect(page.CommonPrefixes?.map((common) => common.Prefix)).toEqual([`${prefix}x/`, `${prefix}y/`]);
    expect(page.Contents?.map((object) => object.Key)).toEqual([`${prefix}z`]);
  });

  it('copies an object within its prefix, and deletes objects one by one and in a batch', async () => {
    const copyKey = exportObjectKey('t-1', EVIDENCE_ID);
    await put(t1, t1Key, 'to copy');
    await t1.send(new CopyObjectCommand({ Bucket: BUCKET, Key: copyKey, CopySource: `${BUCKET}/${t1Key}` }));
    expect(await (await t1.send(new GetObjectCommand({ Bucket: BUCKET, Key: copyKey }))).Body?.transformToString()).toBe('to copy');
    await t1.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: copyKey }));
    expect(await exists(copyKey)).toBe(false);
    const result = await t1.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: t1Key }] } }));
    expect(result.Deleted?.map((deleted) => deleted.Key)).toEqual([t1Key]);
    expect(await exists(t1Key)).toBe(false);
  });

  it('uploads in parts and serves the joined object', async () => {
    const key = `${tenantObjectPrefix('t-1')}multipart`;
    const first = Buffer.alloc(5 * 1024 * 1024, 'a');
    const { UploadId } = await t1.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: 'application/zip' }));
    const one = await t1.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: first }));
    const two = await t1.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: 'tail' }));
    const done = await t1.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: one.ETag },
            { PartNumber: 2, ETag: two.ETag },
          ],
        },
      }),
    );
    expect(done.ETag).toMatch(/-2"$/);
    const got = await t1.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(got.ContentLength).toBe(first.length + 4);
    expect(got.ContentType).toBe('application/zip');
  });

  it('takes a streamed upload the SDK sends aws-chunked with a CRC32 trailer, and verifies the trailer', async () => {
    const body = Buffer.from('streamed evidence');
    await t1.send(new PutObjectCommand({ Bucket: BUCKET, Key: t1Key, Body: Readable.from([body]), ContentLength: body.length, ChecksumAlgorithm: 'CRC32' }));
    const head = await t1.send(new HeadObjectCommand({ Bucket: BUCKET, Key: t1Key, ChecksumMode: 'ENABLED' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ChecksumCRC32).toBeDefined();
  });
});

describe('local S3 endpoint: the tenant fence', () => {
  it.each([
    ['PutObject', () => t1.send(new PutObjectCommand({ Bucket: BUCKET, Key: t10Key, Body: 'x' }))],
    ['GetObject', () => t1.send(new GetObjectCommand({ Bucket: BUCKET, Key: t10Key }))],
    ['DeleteObject', () => t1.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: t10Key }))],
    ['CopyObject from t-10', () => t1.send(new CopyObjectCommand({ Bucket: BUCKET, Key: t1Key, CopySource: `${BUCKET}/${t10Key}` }))],
    ['CopyObject into t-10', () => t1.send(new CopyObjectCommand({ Bucket: BUCKET, Key: t10Key, CopySource: `${BUCKET}/${t1Key}` }))],
    ['CreateMultipartUpload', () => t1.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: t10Key }))],
  ])("denies t-1 %s on t-10's key with AccessDenied, touching nothing", async (_operation, call) => {
    await put(t10, t10Key, 't-10 owns this');
    await put(t1, t1Key, 't-1 owns this');
    const error = await rejection(call());
    expect(error.name).toBe('AccessDenied');
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(await (await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: t10Key }))).Body?.transformToString()).toBe('t-10 owns this');
    expect(await (await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: t1Key }))).Body?.transformToString()).toBe('t-1 owns this');
  });

  it("lets t-10 reach the same key, so the denials are about the tenant, not the key's shape", async () => {
    await put(t10, t10Key, 'mine');
    expect(await (await t10.send(new GetObjectCommand({ Bucket: BUCKET, Key: t10Key }))).Body?.transformToString()).toBe('mine');
  });

  it("refuses t-1 a listing of t-10's prefix, of a prefix without the slash, and of the whole bucket", async () => {
    await put(t10, t10Key, 't-10');
    for (const input of [{ Prefix: tenantObjectPrefix('t-10') }, { Prefix: 'tenant=t-1' }, {}]) {
      const error = await rejection(t1.send(new ListObjectsV2Command({ Bucket: BUCKET, ...input })));
      expect(error.name).toBe('AccessDenied');
    }
  });

  it("deletes t-1's keys in a batch and reports t-10's as AccessDenied, which stays", async () => {
    await put(t10, t10Key, 't-10');
    await put(t1, t1Key, 't-1');
    const result = await t1.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: t1Key }, { Key: t10Key }] } }));
    expect(result.Deleted?.map((deleted) => deleted.Key)).toEqual([t1Key]);
    expect(result.Errors).toEqual([{ Key: t10Key, Code: 'AccessDenied', Message: 'Access Denied' }]);
    expect(await exists(t10Key)).toBe(true);
    expect(await exists(t1Key)).toBe(false);
  });

  it('refuses t-1 the parts of a t-10 upload (abort, upload a part)', async () => {
    const { UploadId } = await t10.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: t10Key }));
    for (const call of [
      () => t1.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: t10Key, UploadId })),
      () => t1.send(new UploadPartCommand({ Bucket: BUCKET, Key: t10Key, UploadId, PartNumber: 1, Body: 'x' })),
    ]) {
      expect((await rejection(call())).name).toBe('AccessDenied');
    }
    await t10.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: t10Key, UploadId }));
  });

  it("denies a cell function's own role every object and listing (it holds no S3 permission)", async () => {
    await put(t1, t1Key, 't-1');
    for (const call of [
      () => api.send(new GetObjectCommand({ Bucket: BUCKET, Key: t1Key })),
      () => api.send(new PutObjectCommand({ Bucket: BUCKET, Key: t1Key, Body: 'x' })),
      () => api.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: tenantObjectPrefix('t-1') })),
    ]) {
      expect((await rejection(call())).name).toBe('AccessDenied');
    }
  });

  it('answers a missing key of its own with 403, not 404, to a session that may not list the bucket (as S3 does)', async () => {
    const missing = evidenceObjectKey('t-1', CASE_ID, '01HZY3M1B2C3D4E5F6G7H8J9KZ');
    expect((await rejection(t1.send(new GetObjectCommand({ Bucket: BUCKET, Key: missing })))).name).toBe('AccessDenied');
    // A caller allowed to list the bucket learns the key does not exist.
    expect((await rejection(admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: missing })))).name).toBe('NoSuchKey');
  });

  it('answers NoSuchBucket for a bucket that does not exist', async () => {
    expect((await rejection(admin.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' })))).name).toBe('NoSuchBucket');
  });
});

describe('local S3 endpoint: authentication', () => {
  it('refuses an unsigned request with AccessDenied', async () => {
    await put(t1, t1Key, 't-1');
    const response = await fetch(`${endpoint}/${BUCKET}/${t1Key}`);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Code>AccessDenied</Code>');
  });

  it('refuses an unknown access key with InvalidAccessKeyId, and an expired session with ExpiredToken', async () => {
    const unknown = client({ ...t1Session, accessKeyId: 'ASIAUNKNOWNUNKNOWN00' });
    expect((await rejection(unknown.send(new GetObjectCommand({ Bucket: BUCKET, Key: t1Key })))).name).toBe('InvalidAccessKeyId');
    const session = tenantSession('t-1');
    // 15 minutes and a second later, signed on the endpoint's clock: the session has ended.
    clockOffsetMs = 901_000;
    const expiring = client(session, clockOffsetMs);
    const error = await rejection(expiring.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: tenantObjectPrefix('t-1') })));
    expect(error.name).toBe('ExpiredToken');
  });

  it('refuses a request whose signature does not cover what arrived (SignatureDoesNotMatch)', async () => {
    const forged = client({ ...t1Session, secretAccessKey: 'not-the-secret' });
    expect((await rejection(forged.send(new GetObjectCommand({ Bucket: BUCKET, Key: t1Key })))).name).toBe('SignatureDoesNotMatch');
  });
});

describe('local S3 endpoint: integrity', () => {
  it('refuses a body that does not match its x-amz-checksum-sha256 (BadDigest), storing nothing', async () => {
    const key = evidenceObjectKey('t-1', CASE_ID, '01HZY3M1B2C3D4E5F6G7H8J9KB');
    const error = await rejection(t1.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'tampered', ChecksumSHA256: sha256Base64('original') })));
    expect(error.name).toBe('BadDigest');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(await exists(key)).toBe(false);
  });

  it('refuses a body that does not match its Content-MD5 (BadDigest), storing nothing', async () => {
    const key = evidenceObjectKey('t-1', CASE_ID, '01HZY3M1B2C3D4E5F6G7H8J9KC');
    const md5 = createHash('md5').update('original').digest('base64');
    const error = await rejection(t1.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'tampered', ContentMD5: md5 })));
    expect(error.name).toBe('BadDigest');
    expect(await exists(key)).toBe(false);
  });

  it('refuses a body whose SHA-256 is not the signed x-amz-content-sha256 (XAmzContentSHA256Mismatch), storing nothing', async () => {
    const key = evidenceObjectKey('t-1', CASE_ID, '01HZY3M1B2C3D4E5F6G7H8J9KD');
    const response = await signedFetch(t1Session, {
      method: 'PUT',
      key,
      body: 'tampered',
      headers: { 'x-amz-content-sha256': createHash('sha256').update('original').digest('hex') },
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
    expect(await exists(key)).toBe(false);
  });
});

describe('local S3 endpoint: presigned URLs', () => {
  async function presign(s3Client: S3Client, command: PutObjectCommand | GetObjectCommand, expiresIn = 300): Promise<string> {
    return getSignedUrl(s3Client, command, { expiresIn });
  }

  it("uploads through t-1's presigned PUT with its signed SHA-256 and length, and downloads through a presigned GET", async () => {
    const body = 'uploaded from a browser';
    const url = await presign(t1, new PutObjectCommand({ Bucket: BUCKET, Key: t1Key, ContentLength: body.length, ChecksumSHA256: sha256Base64(body) }));
    const upload = await fetch(url, { method: 'PUT', body });
    expect(upload.status).toBe(200);
    const download = await fetch(await presign(t1, new GetObjectCommand({ Bucket: BUCKET, Key: t1Key })));
    expect(await download.text()).toBe(body);
  });

  it('refuses a presigned PUT whose body is not the one whose SHA-256 was signed (BadDigest), storing nothing', async () => {
    const key = evidenceObjectKey('t-1', CASE_ID, '01HZY3M1B2C3D4E5F6G7H8J9KE');
    const url = await presign(t1, new PutObjectCommand({ Bucket: BUCKET, Key: key, ChecksumSHA256: sha256Base64('the declared file') }));
    const response = await fetch(url, { method: 'PUT', body: 'another file' });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>BadDigest</Code>');
    expect(await exists(key)).toBe(false);
  });

  it('refuses a presigned PUT of another length than the signed one (SignatureDoesNotMatch)', async () => {
    const key = evidenceObjectKey('t-1', CASE_ID, '01HZY3M1B2C3D4E5F6G7H8J9KF');
    const url = await presign(t1, new PutObjectCommand({ Bucket: BUCKET, Key: key, ContentLength: 10 }));
    const response = await fetch(url, { method: 'PUT', body: 'a much larger file than was declared' });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(await exists(key)).toBe(false);
  });

  it("refuses t-1's presigned URL edited to name t-10's key (SignatureDoesNotMatch), reading and writing nothing", async () => {
    await put(t10, t10Key, 't-10 secret');
    const get = await presign(t1, new GetObjectCommand({ Bucket: BUCKET, Key: t1Key }));
    const edited = get.replace('/tenant%3Dt-1/', '/tenant%3Dt-10/');
    expect(edited).not.toBe(get);
    const read = await fetch(edited);
    expect(read.status).toBe(403);
    const text = await read.text();
    expect(text).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(text).not.toContain('t-10 secret');
    const putUrl = (await presign(t1, new PutObjectCommand({ Bucket: BUCKET, Key: t1Key }))).replace('/tenant%3Dt-1/', '/tenant%3Dt-10/');
    expect((await fetch(putUrl, { method: 'PUT', body: 'overwrite' })).status).toBe(403);
    expect(await (await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: t10Key }))).Body?.transformToString()).toBe('t-10 secret');
  });

  it("refuses a URL t-1's session signed for t-10's key (AccessDenied): a valid signature does not widen the policy", async () => {
    await put(t10, t10Key, 't-10 secret');
    const read = await fetch(await presign(t1, new GetObjectCommand({ Bucket: BUCKET, Key: t10Key })));
    expect(read.status).toBe(403);
    expect(await read.text()).toContain('<Code>AccessDenied</Code>');
    const write = await fetch(await presign(t1, new PutObjectCommand({ Bucket: BUCKET, Key: t10Key })), { method: 'PUT', body: 'overwrite' });
    expect(write.status).toBe(403);
    expect(await (await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: t10Key }))).Body?.transformToString()).toBe('t-10 secret');
  });

  it('refuses an expired URL with AccessDenied "Request has expired"', async () => {
    await put(t1, t1Key, 't-1');
    const url = await presign(t1, new GetObjectCommand({ Bucket: BUCKET, Key: t1Key }), 60);
    expect((await fetch(url)).status).toBe(200);
    clockOffsetMs = 61_000;
    const response = await fetch(url);
    expect(response.status).toBe(403);
    const text = await response.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('<Message>Request has expired</Message>');
  });
});

describe('local S3 endpoint: CORS for the web app', () => {
  it('answers a preflight from an allowed origin for a presigned PUT with its checksum header', async () => {
    const response = await fetch(`${endpoint}/${BUCKET}/${t1Key}`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type,x-amz-checksum-sha256' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(response.headers.get('access-control-allow-methods')).toContain('PUT');
  });

  it('refuses a preflight from another origin, or for a method or header it does not allow', async () => {
    const refused: Record<string, string>[] = [
      { origin: 'http://evil.example', 'access-control-request-method': 'PUT' },
      { origin: ORIGIN, 'access-control-request-method': 'DELETE' },
      { origin: ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-amz-acl' },
    ];
    for (const headers of refused) {
      const response = await fetch(`${endpoint}/${BUCKET}/${t1Key}`, { method: 'OPTIONS', headers });
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('lets an allowed origin read the answer to a presigned GET, and no other origin', async () => {
    await put(t1, t1Key, 't-1');
    const url = await getSignedUrl(t1, new GetObjectCommand({ Bucket: BUCKET, Key: t1Key }), { expiresIn: 60 });
    expect((await fetch(url, { headers: { origin: ORIGIN } })).headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect((await fetch(url, { headers: { origin: 'http://evil.example' } })).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('local S3 endpoint: an independent SigV4 signer (aws4, no AWS SDK code)', () => {
  /** `aws4`'s S3 signing over plain fetch: a second reading of the S3 signing rules. */
  function aws4Request(session: RoleSession, input: { method: string; path: string; body?: string; signQuery?: boolean }) {
    const url = new URL(endpoint);
    const signed = aws4.sign(
      {
        host: url.host,
        method: input.method,
        path: input.path,
        service: 's3',
        region: 'us-east-1',
        ...(input.signQuery ? { signQuery: true } : {}),
        ...(input.body === undefined ? {} : { body: input.body }),
      },
      { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey, sessionToken: session.sessionToken },
    );
    const headers = Object.fromEntries(
      Object.entries(signed.headers ?? {})
        .filter(([name]) => name.toLowerCase() !== 'host')
        .map(([name, value]) => [name, String(value)]),
    );
    return fetch(`${endpoint}${signed.path}`, { method: input.method, headers, ...(input.body === undefined ? {} : { body: input.body }) });
  }

  const key = `${tenantObjectPrefix('t-1')}independent/a file (1).txt`;
  const path = `/${BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`;

  it('accepts its header-signed PUT and GET, and its presigned GET, for a key with spaces and parentheses', async () => {
    expect((await aws4Request(t1Session, { method: 'PUT', path, body: 'independently signed' })).status).toBe(200);
    expect(await (await aws4Request(t1Session, { method: 'GET', path })).text()).toBe('independently signed');
    expect(await (await aws4Request(t1Session, { method: 'GET', path, signQuery: true })).text()).toBe('independently signed');
  });

  it("refuses its correctly signed request for t-10's key (AccessDenied), and a wrong secret (SignatureDoesNotMatch)", async () => {
    const t10Path = `/${BUCKET}/${t10Key.split('/').map(encodeURIComponent).join('/')}`;
    const denied = await aws4Request(t1Session, { method: 'GET', path: t10Path });
    expect(denied.status).toBe(403);
    expect(await denied.text()).toContain('<Code>AccessDenied</Code>');
    const forged = await aws4Request({ ...t1Session, secretAccessKey: 'not-the-secret' }, { method: 'GET', path });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });
});
