import { createHash } from 'node:crypto';
import { unzipSync, strFromU8 } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';

/**
 * Self-service export (issue 10): a tenant admin asks for an export, waits for it, downloads it
 * through a short-lived link, and finds the tenant's own data in it — and nothing of any neighbour.
 */
let env: TestPlatform;
beforeAll(async () => {
  env = await bootTestPlatform();
}, 120_000);
afterAll(() => env?.stop());

interface ExportView {
  exportId: string;
  status: string;
  parts: { part: number; bytes: number; sha256: string; url?: string; urlExpiresAt?: string }[];
  counts: { cases: number; notes: number; evidence: number; files: number; fileBytes: number } | null;
  failure: string | null;
}

async function exportFinished(tenant: TestTenant, exportId: string): Promise<ExportView> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { status, body } = await tenant.call<ExportView>('GET', `/exports/${exportId}`);
    expect(status).toBe(200);
    if (body.status !== 'PENDING' && body.status !== 'RUNNING') return body;
    if (Date.now() > deadline) throw new Error(`export ${exportId} still ${body.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function download(view: ExportView): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const part of view.parts) {
    expect(part.url).toBeDefined();
    const response = await fetch(part.url ?? '');
    expect(response.status).toBe(200);
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(bytes.length).toBe(part.bytes);
    Object.assign(files, unzipSync(bytes));
  }
  return files;
}

/** Uploads a file as evidence of a case, through its presigned URL, and completes it: the evidence id. */
async function attach(tenant: TestTenant, caseId: string, name: string, bytes: Buffer): Promise<string> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const { status, body } = await tenant.call('POST', `/cases/${caseId}/evidence`, { body: { name, contentType: 'application/pdf', size: bytes.length, sha256 } });
  expect(status).toBe(201);
  const put = await fetch(body.upload.url, { method: 'PUT', headers: body.upload.headers, body: bytes });
  expect(put.status).toBe(200);
  expect((await tenant.call('POST', `/cases/${caseId}/evidence/${body.evidenceId}/complete`)).status).toBe(200);
  return body.evidenceId;
}

function jsonLines(bytes: Uint8Array | undefined): Record<string, unknown>[] {
  return strFromU8(bytes ?? new Uint8Array())
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe('self-service export', () => {
  it("gives a tenant admin an archive of the tenant's cases and notes, and none of its neighbour's", async () => {
    const tenant = await env.onboard('standard');
    const neighbour = await env.onboard('standard');
    const titles: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const { body } = await tenant.call('POST', '/cases', { body: { title: `Own case ${i}`, priority: 'high' } });
      titles.push(body.title);
      expect((await tenant.call('POST', `/cases/${body.caseId}/notes`, { body: { body: `Note on ${i}` } })).status).toBe(201);
    }
    await neighbour.call('POST', '/cases', { body: { title: 'Neighbour secret', priority: 'low' } });

    const requested = await tenant.call<ExportView>('POST', '/exports');
    expect(requested.status).toBe(202);
    expect(requested.headers.get('location')).toBe(`/exports/${requested.body.exportId}`);
    expect(requested.body.status).toBe('PENDING');

    const ready = await exportFinished(tenant, requested.body.exportId);
    expect(ready.status).toBe('READY');
    expect(ready.counts).toEqual({ cases: 3, notes: 3, evidence: 0, files: 0, fileBytes: 0 });
    const files = await download(ready);
    const cases = jsonLines(files['cases.jsonl']);
    expect(cases.map((line) => (line.case as { title: string }).title).sort()).toEqual([...titles].sort());
    expect(cases.every((line) => (line.notes as unknown[]).length === 1)).toBe(true);
    const text = Object.values(files)
      .map((bytes) => strFromU8(bytes))
      .join('\n');
    expect(text).not.toContain('Neighbour secret');
    expect(text).not.toContain(neighbour.tenantId);
    // No storage keys in what the tenant downloads: the API's fields only.
    expect(text).not.toContain('TENANT#');
    const manifest = JSON.parse(strFromU8(files['manifest.json'] ?? new Uint8Array()));
    expect(manifest).toMatchObject({ format: 'cellbook-export/1', tenantId: tenant.tenantId, exportId: ready.exportId, counts: ready.counts });

    const listed = await tenant.call<{ items: ExportView[] }>('GET', '/exports');
    expect(listed.body.items.map((item) => item.exportId)).toEqual([ready.exportId]);
    expect(listed.body.items[0]?.parts[0]?.url).toBeUndefined();
  });

  it('carries every evidence file byte for byte, and leaves out an upload never completed', async () => {
    const tenant = await env.onboard('standard');
    const neighbour = await env.onboard('standard');
    const { body: opened } = await tenant.call('POST', '/cases', { body: { title: 'With evidence', priority: 'urgent' } });
    const file = Buffer.from('%PDF-1.7 a signed statement\n'.repeat(1000));
    const attached = await attach(tenant, opened.caseId, 'statement "final".pdf', file);
    const pending = await tenant.call('POST', `/cases/${opened.caseId}/evidence`, {
      body: { name: 'never-sent.png', contentType: 'image/png', size: 10, sha256: 'a'.repeat(64) },
    });
    expect(pending.status).toBe(201);
    const { body: theirs } = await neighbour.call('POST', '/cases', { body: { title: 'Neighbour evidence', priority: 'low' } });
    await attach(neighbour, theirs.caseId, 'neighbour.txt', Buffer.from('neighbour secret bytes'));

    const { body } = await tenant.call<ExportView>('POST', '/exports');
    const ready = await exportFinished(tenant, body.exportId);
    expect(ready.counts).toEqual({ cases: 1, notes: 0, evidence: 2, files: 1, fileBytes: file.length });
    const files = await download(ready);
    const entry = `evidence/${opened.caseId}/${attached}-statement _final_.pdf`;
    expect(Object.keys(files).sort()).toEqual(['cases.jsonl', entry, 'manifest.json'].sort());
    expect(Buffer.from(files[entry] ?? new Uint8Array()).equals(file)).toBe(true);
    const [line] = jsonLines(files['cases.jsonl']);
    expect(((line?.evidence ?? []) as { status: string }[]).map((evidence) => evidence.status).sort()).toEqual(['AVAILABLE', 'PENDING']);
    expect(Object.values(files).some((bytes) => strFromU8(bytes).includes('neighbour secret bytes'))).toBe(false);
  });

  it('counts the archive as the tenant’s exportBytes', async () => {
    const tenant = await env.onboard('standard');
    await tenant.call('POST', '/cases', { body: { title: 'Metered', priority: 'low' } });
    const { body } = await tenant.call<ExportView>('POST', '/exports');
    const ready = await exportFinished(tenant, body.exportId);
    const usage = await env.call('GET', `/admin/tenants/${tenant.tenantId}/usage?granularity=hour`, { token: env.operatorToken });
    expect(usage.body.totals.quantities.exportBytes).toBe(ready.parts.reduce((sum, part) => sum + part.bytes, 0));
  });

  it('runs one export at a time per tenant: a second request names the one under way', async () => {
    const tenant = await env.onboard('standard');
    const neighbour = await env.onboard('standard');
    // Hold the exporter at its claim of this tenant's job, so the first export is surely still under way.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stop = env.platform.interceptDynamoDb(async ({ operation, body }) => {
      const key = body.Key as Record<string, { S?: string }> | undefined;
      if (operation === 'UpdateItem' && key?.PK?.S === `TENANT#${tenant.tenantId}#META` && key.SK?.S?.startsWith('EXPORT#')) await held;
    });
    try {
      const first = await tenant.call<ExportView>('POST', '/exports');
      expect(first.status).toBe(202);
      const second = await tenant.call('POST', '/exports');
      expect(second.status).toBe(409);
      expect(second.body.error.code).toBe('EXPORT_IN_PROGRESS');
      expect(second.body.error.details).toEqual([{ path: 'exportId', message: first.body.exportId }]);
      // A neighbour is not held up by it.
      expect((await neighbour.call('POST', '/exports')).status).toBe(202);
      release();
      expect((await exportFinished(tenant, first.body.exportId)).status).toBe('READY');
      // Once it is done, the next one may start.
      expect((await tenant.call('POST', '/exports')).status).toBe(202);
    } finally {
      release();
      stop();
    }
  });

  it("replaces the previous export's archive: the earlier job reads EXPIRED and its link stops working", async () => {
    const tenant = await env.onboard('standard');
    await tenant.call('POST', '/cases', { body: { title: 'Twice exported', priority: 'low' } });
    const first = await exportFinished(tenant, (await tenant.call<ExportView>('POST', '/exports')).body.exportId);
    const oldLink = first.parts[0]?.url ?? '';
    expect((await fetch(oldLink)).status).toBe(200);
    const second = await exportFinished(tenant, (await tenant.call<ExportView>('POST', '/exports')).body.exportId);
    expect(second.status).toBe('READY');
    const before = await tenant.call<ExportView>('GET', `/exports/${first.exportId}`);
    expect(before.body).toMatchObject({ status: 'EXPIRED', parts: [] });
    // The signature is still good for minutes; the object behind it is gone.
    expect((await fetch(oldLink)).status).not.toBe(200);
    expect((await download(second))['manifest.json']).toBeDefined();
  });

  it("answers 404 for another tenant's export and 422 for an id that is not one, reading nothing", async () => {
    const tenant = await env.onboard('standard');
    const other = await env.onboard('standard');
    const { body } = await other.call<ExportView>('POST', '/exports');
    await exportFinished(other, body.exportId);
    const stolen = await tenant.call('GET', `/exports/${body.exportId}`);
    expect(stolen.status).toBe(404);
    expect(stolen.body.error.code).toBe('EXPORT_NOT_FOUND');
    expect(JSON.stringify(stolen.body)).not.toContain('http');
    const malformed = await tenant.call('GET', '/exports/not-an-id');
    expect(malformed.status).toBe(422);
    expect((await tenant.call<{ items: ExportView[] }>('GET', '/exports')).body.items).toEqual([]);
  });

  it('refuses a plan without export, a user who is not an admin, and a body that is not empty, recording nothing', async () => {
    const basic = await env.onboard('basic');
    const refused = await basic.call('POST', '/exports');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FEATURE_NOT_ENTITLED');

    const tenant = await env.onboard('standard');
    const invited = await tenant.call('POST', '/users', { body: { email: `member-${tenant.tenantId}@example.com`, role: 'user' } });
    expect(invited.status).toBe(201);
    const memberToken = await env.signIn(invited.body.username, invited.body.temporaryPassword, 'Member-Chosen-Pass1');
    const asMember = await env.call('POST', '/exports', { token: memberToken });
    expect(asMember.status).toBe(403);
    expect(asMember.body.error.code).toBe('FORBIDDEN');
    expect((await env.call('GET', '/exports', { token: memberToken })).status).toBe(403);

    const withBody = await tenant.call('POST', '/exports', { body: { tenantId: 'someone-else' } });
    expect(withBody.status).toBe(422);
    expect((await tenant.call<{ items: ExportView[] }>('GET', '/exports')).body.items).toEqual([]);
  });
});
