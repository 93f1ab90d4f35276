import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskObjectStore } from './s3-disk-storage.js';
import { MemoryObjectStore, type ObjectStore, type StoredObject } from './s3-storage.js';

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});
/** A fresh disk store in a directory of its own. */
const diskStore = async (): Promise<DiskObjectStore> => {
  const root = await mkdtemp(join(tmpdir(), 'cellbook-objects-'));
  roots.push(root);
  return DiskObjectStore.open(root);
};

const object = (body: string): StoredObject => ({ body: Buffer.from(body), etag: '"x"', lastModified: 0, contentType: 'text/plain', metadata: {}, checksums: {} });

async function keys(store: ObjectStore, prefix = '', after = ''): Promise<string[]> {
  const listed: string[] = [];
  for await (const [key] of store.entries('bkt', { prefix, after })) listed.push(key);
  return listed;
}

// The disk store (npm start) must behave as the memory store (tests) does, listing order included.
describe.each([
  ['MemoryObjectStore', async (): Promise<ObjectStore> => new MemoryObjectStore()],
  ['DiskObjectStore', diskStore],
])('%s', (_name, open) => {
  it('lists keys in S3 order (UTF-8 bytes), within a prefix, after a given key', async () => {
    const store = await open();
    await store.createBucket('bkt');
    for (const key of ['tenant=t-10/a', 'tenant=t-1/b', 'tenant=t-1/a', 'tenant=t-1/é', 'tenant=t-1/z', 'tenant=t-2/a']) await store.put('bkt', key, object(key));
    expect(await keys(store, 'tenant=t-1/')).toEqual(['tenant=t-1/a', 'tenant=t-1/b', 'tenant=t-1/z', 'tenant=t-1/é']);
    expect(await keys(store, 'tenant=t-1/', 'tenant=t-1/b')).toEqual(['tenant=t-1/z', 'tenant=t-1/é']);
    // A prefix without the slash covers t-10 too: why every tenant prefix ends with one.
    expect(await keys(store, 'tenant=t-1')).toEqual(['tenant=t-1/a', 'tenant=t-1/b', 'tenant=t-1/z', 'tenant=t-1/é', 'tenant=t-10/a']);
  });

  it('keeps a listing in step when keys are written and deleted between two of its steps', async () => {
    const store = await open();
    await store.createBucket('bkt');
    for (const key of ['a', 'b', 'c', 'd']) await store.put('bkt', key, object(key));
    const listed: string[] = [];
    for await (const [key] of store.entries('bkt', { prefix: '', after: '' })) {
      listed.push(key);
      if (key === 'b') {
        await store.delete('bkt', 'a');
        await store.delete('bkt', 'c');
        await store.put('bkt', 'bb', object('bb'));
      }
    }
    expect(listed).toEqual(['a', 'b', 'bb', 'd']);
  });

  it('replaces an object written twice, and says whether a delete found one', async () => {
    const store = await open();
    await store.createBucket('bkt');
    await store.put('bkt', 'k', object('one'));
    await store.put('bkt', 'k', object('two'));
    expect((await store.get('bkt', 'k'))?.body.toString()).toBe('two');
    expect(await keys(store)).toEqual(['k']);
    expect(await store.delete('bkt', 'k')).toBe(true);
    expect(await store.delete('bkt', 'k')).toBe(false);
    expect(await keys(store)).toEqual([]);
  });
});
