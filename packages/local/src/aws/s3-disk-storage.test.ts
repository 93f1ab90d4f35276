import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskObjectStore } from './s3-disk-storage.js';
import type { ObjectStore, StoredObject } from './s3-storage.js';

const object = (body: string, extra: Partial<StoredObject> = {}): StoredObject => ({
  body: Buffer.from(body),
  etag: `"${body}"`,
  lastModified: 1_700_000_000_000,
  contentType: 'application/pdf',
  metadata: { sha256: 'abc' },
  checksums: { sha256: 'q83v' },
  ...extra,
});

async function keys(store: ObjectStore, bucket: string): Promise<string[]> {
  const listed: string[] = [];
  for await (const [key] of store.entries(bucket, { prefix: '', after: '' })) listed.push(key);
  return listed;
}

describe('DiskObjectStore, opened again on the same directory (npm start restarted)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cellbook-objects-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('finds every bucket and object as they were written: bytes, metadata, listing order', async () => {
    const before = await DiskObjectStore.open(root);
    await before.createBucket('cell-1-evidence');
    await before.createBucket('cell-2-evidence');
    const long = `tenant=t-1/${'é'.repeat(400)}`;
    for (const key of ['tenant=t-1/b', 'tenant=t-1/a', long, 'tenant=t-10/a']) await before.put('cell-1-evidence', key, object(key.slice(0, 20)));
    await before.put('cell-1-evidence', 'tenant=t-1/b', object('rewritten', { contentDisposition: 'attachment' }));
    await before.delete('cell-1-evidence', 'tenant=t-10/a');

    const after = await DiskObjectStore.open(root);
    expect(await after.hasBucket('cell-2-evidence')).toBe(true);
    expect(await keys(after, 'cell-1-evidence')).toEqual(['tenant=t-1/a', 'tenant=t-1/b', long]);
    expect(await after.get('cell-1-evidence', 'tenant=t-1/b')).toEqual(object('rewritten', { contentDisposition: 'attachment' }));
    expect(await after.get('cell-1-evidence', 'tenant=t-10/a')).toBeUndefined();
    const summaries = [];
    for await (const [key, summary] of after.entries('cell-1-evidence', { prefix: 'tenant=t-1/a', after: '' })) summaries.push({ key, ...summary });
    expect(summaries).toEqual([{ key: 'tenant=t-1/a', etag: '"tenant=t-1/a"', lastModified: 1_700_000_000_000, size: 12 }]);
  });

  it('ignores the temporary file of a write a crash interrupted: the object it would replace stands', async () => {
    const before = await DiskObjectStore.open(root);
    await before.createBucket('cell-1-evidence');
    await before.put('cell-1-evidence', 'k', object('whole'));
    const [file] = await readdir(join(root, 'cell-1-evidence'));
    await writeFile(join(root, 'cell-1-evidence', `${file}.123.x.tmp`), 'torn');

    const after = await DiskObjectStore.open(root);
    expect(await keys(after, 'cell-1-evidence')).toEqual(['k']);
    expect((await after.get('cell-1-evidence', 'k'))?.body.toString()).toBe('whole');
  });

  it('ends as the last of two writes to one key that overlap, on disk as in its listing', async () => {
    const store = await DiskObjectStore.open(root);
    await store.createBucket('cell-1-evidence');
    await Promise.all([store.put('cell-1-evidence', 'k', object('first')), store.put('cell-1-evidence', 'k', object('second'))]);
    expect((await store.get('cell-1-evidence', 'k'))?.body.toString()).toBe('second');
    const reopened = await DiskObjectStore.open(root);
    expect((await reopened.get('cell-1-evidence', 'k'))?.body.toString()).toBe('second');
  });
});
