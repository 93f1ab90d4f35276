import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import * as Cell from '@cellbook/core/cells/cell';
import { evidenceObjectKey } from '@cellbook/core/keys/keys';
import { tenantBucketIn } from '@cellbook/core/tenancy/tenant-bucket';
import { copyTenantObjects, fingerprintTenantObjects, purgeTenantObjects } from '@cellbook/core/tenant-data/objects';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

let env: TestPlatform;

beforeAll(async () => {
  env = await bootTestPlatform();
  // The control plane's environment: this suite reads buckets as the tenant sessions the control plane uses.
  Object.assign(process.env, env.platform.controlPlaneEnv);
});
afterAll(() => env?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface File {
  name: string;
  contentType: string;
  bytes: Buffer;
}

function file(size = 1024, name = 'statement.pdf', contentType = 'application/pdf'): File {
  return { name, contentType, bytes: randomBytes(size) };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function declare(file: File) {
  return { name: file.name, contentType: file.contentType, size: file.bytes.byteLength, sha256: sha256(file.bytes) };
}

interface Upload {
  url: string;
  headers: Record<string, string>;
}

/** PUTs bytes to a presigned URL with its headers (fetch sets Content-Length from the body itself). */
function put(upload: Upload, bytes: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  const { 'content-length': _length, ...signed } = upload.headers;
  return fetch(upload.url, { method: 'PUT', headers: { ...signed, ...headers }, body: bytes });
}

async function openCase(tenant: TestTenant): Promise<string> {
  const created = await tenant.call('POST', '/cases', { body: { title: 'Water damage claim', priority: 'high' } });
  expect(created.status).toBe(201);
  return created.body.caseId;
}

/** Requests an upload, PUTs the bytes and completes it: the whole happy path. */
async function attach(tenant: TestTenant, caseId: string, evidence = file()): Promise<{ evidenceId: string; file: File }> {
  const requested = await tenant.call('POST', `/cases/${caseId}/evidence`, { body: declare(evidence) });
  expect(requested.status, JSON.stringify(requested.body)).toBe(201);
  const stored = await put(requested.body.upload, evidence.bytes);
  expect(stored.status, await stored.text()).toBe(200);
  const completed = await tenant.call('POST', `/cases/${caseId}/evidence/${requested.body.evidenceId}/complete`);
  expect(completed.status, JSON.stringify(completed.body)).toBe(200);
  return { evidenceId: requested.body.evidenceId, file: evidence };
}

async function download(tenant: TestTenant, caseId: string, evidenceId: string): Promise<Response> {
  const found = await tenant.call('GET', `/cases/${caseId}/evidence/${evidenceId}`);
  expect(found.status).toBe(200);
  return fetch(found.body.download.url);
}

/** The tenant's objects in a cell's evidence bucket, as the tenant's own session lists them. */
async function objectsIn(cellId: string, tenantId: string) {
  const cell = await Cell.get(cellId);
  if (!cell) throw new Error(`no cell ${cellId}`);
  return fingerprintTenantObjects(tenantBucketIn(cell, tenantId), tenantId);
}

const evidenceBytesOf = async (tenant: TestTenant) => (await tenant.call('GET', '/me')).body.usage.evidenceBytes;

describe('evidence on a case', () => {
  it('uploads through the presigned URL, completes, lists, downloads the same bytes as an attachment, and deletes', async () => {
    const tenant = await env.onboard('standard');
    const caseId = await openCase(tenant);
    const evidence = file(4096, 'Photo of the "ceiling".png', 'image/png');

    const requested = await tenant.call('POST', `/cases/${caseId}/evidence`, { body: declare(evidence) });
    expect(requested.status).toBe(201);
    expect(requested.headers.get('location')).toBe(`/cases/${caseId}/evidence/${requested.body.evidenceId}`);
    expect(requested.body).toMatchObject({
      caseId,
      name: evidence.name,
      size: 4096,
      contentType: 'image/png',
      sha256: sha256(evidence.bytes),
      status: 'PENDING',
      uploadedBy: tenant.username,
      completedAt: null,
      upload: {
        method: 'PUT',
        headers: { 'content-type': 'image/png', 'content-length': '4096', 'x-amz-checksum-sha256': createHash('sha256').update(evidence.bytes).digest('base64') },
      },
    });
    expect(Date.parse(requested.body.upload.expiresAt)).toBeGreaterThan(Date.now());
    const { evidenceId } = requested.body;
    // Not uploaded yet: nothing to complete, nothing to download.
    const early = await tenant.call('POST', `/cases/${caseId}/evidence/${evidenceId}/complete`);
    expect([early.status, early.body.error.code]).toEqual([409, 'EVIDENCE_NOT_UPLOADED']);
    expect((await tenant.call('GET', `/cases/${caseId}/evidence/${evidenceId}`)).body).toMatchObject({ status: 'PENDING', download: null });

    expect((await put(requested.body.upload, evidence.bytes)).status).toBe(200);
    const completed = await tenant.call('POST', `/cases/${caseId}/evidence/${evidenceId}/complete`);
    expect(completed.status).toBe(200);
    expect(completed.body).toMatchObject({ evidenceId, status: 'AVAILABLE', completedAt: expect.any(String) });
    expect(completed.body).not.toHaveProperty('upload');
    // A repeat answers the current state and counts nothing twice.
    const again = await tenant.call('POST', `/cases/${caseId}/evidence/${evidenceId}/complete`);
    expect([again.status, again.body]).toEqual([200, completed.body]);
    expect(await evidenceBytesOf(tenant)).toBe(4096);

    const listed = await tenant.call('GET', `/cases/${caseId}/evidence`);
    expect(listed.body).toEqual({ items: [{ ...completed.body }], nextCursor: null });

    const fetched = await download(tenant, caseId, evidenceId);
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(evidence.bytes)).toBe(true);
    expect(fetched.headers.get('content-type')).toBe('image/png');
    expect(fetched.headers.get('content-disposition')).toBe(`attachment; filename="Photo of the _ceiling_.png"; filename*=UTF-8''Photo%20of%20the%20%22ceiling%22.png`);

    const link = (await tenant.call('GET', `/cases/${caseId}/evidence/${evidenceId}`)).body.download.url;
    const removed = await tenant.call('DELETE', `/cases/${caseId}/evidence/${evidenceId}`);
    expect(removed.status).toBe(204);
    expect((await tenant.call('GET', `/cases/${caseId}/evidence/${evidenceId}`)).status).toBe(404);
    expect((await tenant.call('DELETE', `/cases/${caseId}/evidence/${evidenceId}`)).status).toBe(404);
    // The object went first: even a link handed out before finds nothing (403, as S3 answers a
    // missing key to a session that may not list the bucket).
    expect((await fetch(link)).status).toBe(403);
    expect(await evidenceBytesOf(tenant)).toBe(0);
    expect((await objectsIn(tenant.cellId, tenant.tenantId)).count).toBe(0);
  });

  it('pages the listing of a case’s evidence with an opaque cursor', async () => {
    const tenant = await env.onboard('standard');
    const caseId = await openCase(tenant);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await tenant.call('POST', `/cases/${caseId}/evidence`, { body: declare(file(10, `f${i}.txt`, 'text/plain')) })).body.evidenceId);
    const first = await tenant.call('GET', `/cases/${caseId}/evidence?limit=2`);
    expect(first.body.items.map((item: { evidenceId: string }) => item.evidenceId)).toEqual(ids.slice(0, 2));
    const second = await tenant.call('GET', `/cases/${caseId}/evidence?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(second.body.items.map((item: { evidenceId: string }) => item.evidenceId)).toEqual(ids.slice(2));
    const otherCase = await openCase(tenant);
    const foreign = await tenant.call('GET', `/cases/${otherCase}/evidence?cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect([foreign.status, foreign.body.error.code]).toEqual([400, 'INVALID_CURSOR']);
  });
});

describe('evidence: bad input writes nothing', () => {
  it.each([
    ['a type off the allow-list', { contentType: 'text/html' }, 422, 'EVIDENCE_TYPE_NOT_ALLOWED'],
    ['SVG (scripts when rendered)', { contentType: 'image/svg+xml' }, 422, 'EVIDENCE_TYPE_NOT_ALLOWED'],
    ['a file over the plan’s per-file size', { size: 25 * 1024 * 1024 + 1 }, 422, 'EVIDENCE_TOO_LARGE'],
    ['a malformed sha256', { sha256: 'abc' }, 422, 'VALIDATION_FAILED'],
    ['a base64 sha256', { sha256: createHash('sha256').update('x').digest('base64') }, 422, 'VALIDATION_FAILED'],
    ['an empty file', { size: 0 }, 422, 'VALIDATION_FAILED'],
    ['a fractional size', { size: 1.5 }, 422, 'VALIDATION_FAILED'],
    ['a name with a line break', { name: 'a\nb.pdf' }, 422, 'VALIDATION_FAILED'],
    ['an unknown field', { tenantId: 't-1' }, 422, 'VALIDATION_FAILED'],
  ])('refuses %s before signing anything', async (_label, change, status, code) => {
    const tenant = await env.onboard('standard');
    const caseId = await openCase(tenant);
    const response = await tenant.call('POST', `/cases/${caseId}/evidence`, { body: { ...declare(file()), ...change } });
    expect([response.status, response.body.error?.code]).toEqual([status, code]);
    expect(response.body).not.toHaveProperty('upload');
    expect((await tenant.call('GET', `/cases/${caseId}/evidence`)).body.items).toEqual([]);
  });

  it('answers an unknown case 404 and unknown or malformed evidence ids 404 / 422', async () => {
    const tenant = await env.onboard('standard');
    const caseId = await openCase(tenant);
    const missingCase = '01HZY3J5V8K2M4N6P8Q0R2S4T6';
    const onMissingCase = await tenant.call('POST', `/cases/${missingCase}/evidence`, { body: declare(file()) });
    expect([onMissingCase.status, onMissingCase.body.error.code]).toEqual([404, 'CASE_NOT_FOUND']);
    expect((await tenant.call('GET', `/cases/${missingCase}/evidence`)).status).toBe(404);
    for (const [method, suffix] of [
      ['GET', ''],
      ['DELETE', ''],
      ['POST', '/complete'],
    ] as const) {
      const unknown = await tenant.call(method, `/cases/${caseId}/evidence/${missingCase}${suffix}`);
      expect([unknown.status, unknown.body.error.code], `${method} ${suffix}`).toEqual([404, 'EVIDENCE_NOT_FOUND']);
      const malformed = await tenant.call(method, `/cases/${caseId}/evidence/not-an-id${suffix}`);
      expect([malformed.status, malformed.body.error.code], `${method} ${suffix}`).toEqual([422, 'VALIDATION_FAILED']);
    }
  });

  it('has S3 refuse a PUT of other bytes, another length or another type than declared; complete then finds nothing', async () => {
    const tenant = await env.onboard('standard');
    const caseId = await openCase(tenant);
    const evidence = file(2048);
    const requested = await tenant.call('POST', `/cases/${caseId}/evidence`, { body: declare(evidence) });
    const { upload, evidenceId } = requested.body;

    const otherBytes = await put(upload, randomBytes(2048));
    expect(otherBytes.status).toBe(400);
    expect(await otherBytes.text()).toMatch(/BadDigest|XAmzContentSHA256Mismatch|InvalidRequest/);
    expect((await put(upload, Buffer.concat([evidence.bytes, Buffer.from('x')]))).status).toBeGreaterThanOrEqual(400);
    expect((await put(upload, evidence.bytes, { 'content-type': 'text/html' })).status).toBe(403);
    const { 'x-amz-checksum-sha256': _checksum, ...withoutChecksum } = upload.headers;
    expect((await put({ url: upload.url, headers: withoutChecksum }, randomBytes(2048))).status).toBe(403);

    const complete = await tenant.call('POST', `/cases/${caseId}/evidence/${evidenceId}/complete`);
    expect([complete.status, complete.body.error.code]).toEqual([409, 'EVIDENCE_NOT_UPLOADED']);
    expect((await objectsIn(tenant.cellId, tenant.tenantId)).count).toBe(0);
    // The declared bytes stay reserved while the upload is PENDING (until it is deleted).
    expect(await evidenceBytesOf(tenant)).toBe(2048);
  });

  it('deletes a stored file that is not the one declared, object and item, answers 422 and gives its bytes back', async () => {
    const tenant = await env.onboard('standard');
    const caseId = await openCase(tenant);
    const evidence = file(512);
    const requested = await tenant.call('POST', `/cases/${caseId}/evidence`, { body: declare(evidence) });
    expect(await evidenceBytesOf(tenant)).toBe(512);
    // Another file at the key (as a tenant session could write it; S3 would refuse it through the URL).
    const cell = (await Cell.get(tenant.cellId))!;
    const bucket = tenantBucketIn(cell, tenant.tenantId);
    await bucket.s3.send(
      new PutObjectCommand({
        Bucket: bucket.bucket,
        Key: evidenceObjectKey(tenant.tenantId, caseId, requested.body.evidenceId),
        Body: randomBytes(512),
        ContentType: 'application/pdf',
      }),
    );
    const complete = await tenant.call('POST', `/cases/${caseId}/evidence/${requested.body.evidenceId}/complete`);
    expect([complete.status, complete.body.error.code]).toEqual([422, 'EVIDENCE_MISMATCH']);
    expect((await objectsIn(tenant.cellId, tenant.tenantId)).count).toBe(0);
    expect(await evidenceBytesOf(tenant)).toBe(0);
    expect((await tenant.call('GET', `/cases/${caseId}/evidence/${requested.body.evidenceId}`)).status).toBe(404);
    // A repeat finds nothing and gives nothing back twice.
    const again = await tenant.call('POST', `/cases/${caseId}/evidence/${requested.body.evidenceId}/complete`);
    expect([again.status, again.body.error.code]).toEqual([404, 'EVIDENCE_NOT_FOUND']);
    expect(await evidenceBytesOf(tenant)).toBe(0);
  });
});

describe('evidence: download links', () => {
  it('hands out a link that lives minutes, cannot be turned inline, and is refused once expired', async () => {
    const tenant = await env.onboard('standard');
    const caseId = await openCase(tenant);
    const { evidenceId } = await attach(tenant, caseId, file(100, 'notes.txt', 'text/plain'));
    const before = Date.now();
    const { download } = (await tenant.call('GET', `/cases/${caseId}/evidence/${evidenceId}`)).body;
    expect(Date.parse(download.expiresAt)).toBeGreaterThan(before);
    expect(Date.parse(download.expiresAt)).toBeLessThanOrEqual(Date.now() + 5 * 60_000);
    expect(new URL(download.url).searchParams.get('X-Amz-Expires')).toBe('300');
    // The disposition is signed: a client cannot have the bucket serve the file inline instead.
    const inline = new URL(download.url);
    inline.searchParams.set('response-content-disposition', 'inline');
    expect((await fetch(inline)).status).toBe(403);

    // A link signed the same way (the tenant's session) for one second: refused once that second has passed.
    const cell = (await Cell.get(tenant.cellId))!;
    const bucket = tenantBucketIn(cell, tenant.tenantId);
    const short = await bucket.presign(new GetObjectCommand({ Bucket: bucket.bucket, Key: evidenceObjectKey(tenant.tenantId, caseId, evidenceId) }), 1);
    const deadline = Date.now() + 15_000;
    let response = await fetch(short.url);
    while (response.status === 200 && Date.now() < deadline) {
      await sleep(250);
      response = await fetch(short.url);
    }
    expect(response.status).toBe(403);
    expect(await response.text()).toMatch(/expired/i);
  });
});

describe('evidence: entitlements', () => {
  it('answers 403 FEATURE_NOT_ENTITLED on every evidence route for a basic tenant', async () => {
    const tenant = await env.onboard('basic');
    const caseId = await openCase(tenant);
    const evidenceId = '01HZY3J5V8K2M4N6P8Q0R2S4T6';
    for (const [method, path] of [
      ['POST', `/cases/${caseId}/evidence`],
      ['GET', `/cases/${caseId}/evidence`],
      ['GET', `/cases/${caseId}/evidence/${evidenceId}`],
      ['DELETE', `/cases/${caseId}/evidence/${evidenceId}`],
      ['POST', `/cases/${caseId}/evidence/${evidenceId}/complete`],
    ] as const) {
      const response = await tenant.call(method, path, method === 'POST' && path.endsWith('evidence') ? { body: declare(file()) } : {});
      expect([response.status, response.body.error?.code], `${method} ${path}`).toEqual([403, 'FEATURE_NOT_ENTITLED']);
    }
  });

  it('reserves the declared bytes at the request: uploads never completed cannot go past the plan’s total', async () => {
    const tenant = await env.onboard('standard');
    const caseId = await openCase(tenant);
    const patched = await env.call('PATCH', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken, body: { overrides: { limits: { maxEvidenceBytes: 3000 } } } });
    expect(patched.status).toBe(200);
    await attach(tenant, caseId, file(1000));
    // Completing counted nothing more than the request did.
    expect(await evidenceBytesOf(tenant)).toBe(1000);

    const tooMuch = await tenant.call('POST', `/cases/${caseId}/evidence`, { body: declare(file(2001)) });
    expect([tooMuch.status, tooMuch.body.error.code]).toEqual([403, 'ENTITLEMENT_LIMIT_REACHED']);
    expect(tooMuch.body).not.toHaveProperty('upload');

    // Requested at once and never completed: only as many as fit are signed, the rest refused before anything is written.
    const requests = await Promise.all([0, 1, 2, 3].map(() => tenant.call('POST', `/cases/${caseId}/evidence`, { body: declare(file(900)) })));
    expect(requests.map((response) => response.status).sort()).toEqual([201, 201, 403, 403]);
    for (const refused of requests.filter((response) => response.status === 403)) expect(refused.body.error.code).toBe('ENTITLEMENT_LIMIT_REACHED');
    const pending = requests.filter((response) => response.status === 201);
    expect(await evidenceBytesOf(tenant)).toBe(2800);
    const usage = await tenant.call('GET', '/me/usage');
    expect(usage.status, JSON.stringify(usage.body)).toBe(200);
    expect(usage.body.evidenceBytes).toEqual({ used: 2800, limit: 3000, remaining: 200 });
    const listed = await tenant.call('GET', `/cases/${caseId}/evidence`);
    expect(listed.body.items.map((item: { status: string }) => item.status).sort()).toEqual(['AVAILABLE', 'PENDING', 'PENDING']);

    // Deleting a PENDING upload gives its bytes back; a request that fits now is signed.
    expect((await tenant.call('DELETE', `/cases/${caseId}/evidence/${pending[0]!.body.evidenceId}`)).status).toBe(204);
    expect(await evidenceBytesOf(tenant)).toBe(1900);
    expect((await tenant.call('POST', `/cases/${caseId}/evidence`, { body: declare(file(2001)) })).status).toBe(403);
    const fits = file(1100);
    const requested = await tenant.call('POST', `/cases/${caseId}/evidence`, { body: declare(fits) });
    expect(requested.status).toBe(201);
    expect(await evidenceBytesOf(tenant)).toBe(3000);
    // Completing it counts nothing more (the plan is full, and complete still succeeds), and a repeat counts nothing either.
    expect((await put(requested.body.upload, fits.bytes)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await tenant.call('POST', `/cases/${caseId}/evidence/${requested.body.evidenceId}/complete`)).status).toBe(200);
    expect(await evidenceBytesOf(tenant)).toBe(3000);
    // Deleting the AVAILABLE file gives its bytes back, once.
    expect((await tenant.call('DELETE', `/cases/${caseId}/evidence/${requested.body.evidenceId}`)).status).toBe(204);
    expect((await tenant.call('DELETE', `/cases/${caseId}/evidence/${requested.body.evidenceId}`)).status).toBe(404);
    expect(await evidenceBytesOf(tenant)).toBe(1900);
  });
});

describe('evidence: isolation', () => {
  it('answers another tenant’s case and evidence ids 404, signs nothing and changes nothing', async () => {
    const owner = await env.onboard('standard');
    const intruder = await env.onboard('standard');
    const caseId = await openCase(owner);
    const { evidenceId, file: evidence } = await attach(owner, caseId);

    for (const [method, path] of [
      ['GET', `/cases/${caseId}/evidence`],
      ['GET', `/cases/${caseId}/evidence/${evidenceId}`],
      ['POST', `/cases/${caseId}/evidence/${evidenceId}/complete`],
      ['DELETE', `/cases/${caseId}/evidence/${evidenceId}`],
    ] as const) {
      const response = await intruder.call(method, path);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(JSON.stringify(response.body)).not.toMatch(/X-Amz-Signature|tenant=/);
    }
    const upload = await intruder.call('POST', `/cases/${caseId}/evidence`, { body: declare(file()) });
    expect([upload.status, upload.body.error.code]).toEqual([404, 'CASE_NOT_FOUND']);

    const fetched = await download(owner, caseId, evidenceId);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(evidence.bytes)).toBe(true);
    expect((await objectsIn(intruder.cellId, intruder.tenantId)).count).toBe(0);
  });

  it('never lets one tenant’s presigned URL reach another tenant’s prefix', async () => {
    const one = await env.onboard('standard');
    const other = await env.onboard('standard');
    const oneCase = await openCase(one);
    const otherCase = await openCase(other);
    const { evidenceId: otherEvidence, file: otherFile } = await attach(other, otherCase);
    const evidence = file(256);
    const requested = await one.call('POST', `/cases/${oneCase}/evidence`, { body: declare(evidence) });

    // The key edited to the other tenant's prefix (and the other tenant's very object): the signature no longer matches.
    const onePrefix = `tenant%3D${one.tenantId}`;
    const url = requested.body.upload.url as string;
    const rawPrefix = url.includes(onePrefix) ? onePrefix : `tenant=${one.tenantId}`;
    const redirected = url.replace(rawPrefix, rawPrefix.replace(one.tenantId, other.tenantId)).replace(`case%3D${oneCase}`, `case%3D${otherCase}`);
    expect(redirected).not.toBe(url);
    const refused = await put({ url: redirected, headers: requested.body.upload.headers }, evidence.bytes);
    expect(refused.status).toBe(403);
    const download = (await other.call('GET', `/cases/${otherCase}/evidence/${otherEvidence}`)).body.download.url as string;
    const stolen = await fetch(download.replace(other.tenantId, one.tenantId));
    expect(stolen.status).toBe(403);

    expect((await objectsIn(other.cellId, other.tenantId)).count).toBe(1);
    const still = await fetch(download);
    expect(Buffer.from(await still.arrayBuffer()).equals(otherFile.bytes)).toBe(true);
  });
});

describe('evidence through a tenant’s lifecycle', () => {
  async function waitForMove(tenantId: string, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tenant = await env.call('GET', `/admin/tenants/${tenantId}`, { token: env.operatorToken });
      const state = tenant.body.move?.state;
      if (state === 'DONE' || state === 'FAILED') return tenant.body;
      if (Date.now() > deadline) throw new Error(`move of ${tenantId} still ${state} after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  it('carries the files in a move: the same bytes from the new cell, none left in the old one', async () => {
    const tenant = await env.onboard('standard');
    const caseId = await openCase(tenant);
    const files = [await attach(tenant, caseId, file(3000, 'a.pdf')), await attach(tenant, caseId, file(5000, 'b.csv', 'text/csv'))];
    const before = await objectsIn(tenant.cellId, tenant.tenantId);
    expect(before.count).toBe(2);
    const to = tenant.cellId === 'cell-1' ? 'cell-2' : 'cell-1';

    const started = await env.call('POST', `/admin/tenants/${tenant.tenantId}/move`, { token: env.operatorToken, body: { cellId: to } });
    expect(started.status).toBe(202);
    const moved = await waitForMove(tenant.tenantId);
    expect(moved).toMatchObject({ cellId: to, move: { state: 'DONE', copiedObjects: { count: 2, checksum: before.checksum, bytes: 8000 } } });

    for (const { evidenceId, file: original } of files) {
      const fetched = await download(tenant, caseId, evidenceId);
      expect(fetched.url).toContain(`tenant%3D${tenant.tenantId}`);
      expect(Buffer.from(await fetched.arrayBuffer()).equals(original.bytes)).toBe(true);
    }
    expect(await objectsIn(to, tenant.tenantId)).toEqual(before);
    expect((await objectsIn(tenant.cellId, tenant.tenantId)).count).toBe(0);
    expect(await evidenceBytesOf(tenant)).toBe(8000);
  });

  it('copies an object stored without a checksum by streaming it, the target computing its SHA-256 on the way in', async () => {
    const tenant = await env.onboard('standard');
    const from = (await Cell.get(tenant.cellId))!;
    const to = (await Cell.get(tenant.cellId === 'cell-1' ? 'cell-2' : 'cell-1'))!;
    const [source, target] = [tenantBucketIn(from, tenant.tenantId), tenantBucketIn(to, tenant.tenantId)];
    const bytes = randomBytes(300_000);
    const key = evidenceObjectKey(tenant.tenantId, '01HZY3J5V8K2M4N6P8Q0R2S4T6', '01HZY3J5V8K2M4N6P8Q0R2S4T7');
    await source.s3.send(new PutObjectCommand({ Bucket: source.bucket, Key: key, Body: bytes, ContentType: 'application/pdf' }));
    const result = await copyTenantObjects(source, target, tenant.tenantId);

    // The target stored the SHA-256 of the very bytes, and the copy fingerprinted the same one (hashed as the bytes passed).
    const expected = createHash('sha256')
      .update(`${key}:${createHash('sha256').update(bytes).digest('base64')}\n`)
      .digest('hex');
    expect(result).toEqual({ count: 1, bytes: 300_000, checksum: expected });
    expect(await objectsIn(to.cellId, tenant.tenantId)).toEqual(result);
    const stored = await target.s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: key }));
    expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(bytes)).toBe(true);
    for (const bucket of [source, target]) expect((await purgeTenantObjects(bucket, tenant.tenantId)).remaining).toBe(0);
  });

  it('exports evidence metadata, and offboarding purges every object under the prefix, uncompleted uploads included', async () => {
    const tenant = await env.onboard('standard');
    const neighbour = await env.onboard('standard');
    const caseId = await openCase(tenant);
    const { evidenceId } = await attach(tenant, caseId);
    // An upload never completed: its object is in the bucket, its item PENDING.
    const orphan = file(700);
    const pending = await tenant.call('POST', `/cases/${caseId}/evidence`, { body: declare(orphan) });
    expect((await put(pending.body.upload, orphan.bytes)).status).toBe(200);
    const neighbourCase = await openCase(neighbour);
    await attach(neighbour, neighbourCase);
    const neighbourBefore = await objectsIn(neighbour.cellId, neighbour.tenantId);

    const exported = await env.call('GET', `/admin/tenants/${tenant.tenantId}/export?limit=1000`, { token: env.operatorToken });
    const lines = (exported.body as unknown as string)
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    const evidenceItems = lines.filter((line) => line.item.type === 'evidence').map((line) => line.item);
    expect(evidenceItems.map((item) => [item.evidenceId, item.status]).sort()).toEqual(
      [
        [evidenceId, 'AVAILABLE'],
        [pending.body.evidenceId, 'PENDING'],
      ].sort(),
    );

    expect((await env.call('POST', `/admin/tenants/${tenant.tenantId}/suspend`, { token: env.operatorToken, body: { reason: 'contract ended' } })).status).toBe(200);
    const offboarded = await env.call('DELETE', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken, body: {} });
    expect(offboarded.status).toBe(200);
    expect(offboarded.body.purged).toMatchObject({ objects: 2 });
    expect((await objectsIn(tenant.cellId, tenant.tenantId)).count).toBe(0);
    expect(await objectsIn(neighbour.cellId, neighbour.tenantId)).toEqual(neighbourBefore);
  });
});
