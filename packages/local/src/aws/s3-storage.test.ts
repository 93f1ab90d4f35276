import { describe, expect, it } from 'vitest';
import { MemoryObjectStore, type StoredObject } from './s3-storage.js';

const object = (body: string): StoredObject => ({ body: Buffer.from(body), etag: '"x"', lastModified: 0, contentType: 'text/plain', metadata: {}, checksums: {} });

async function keys(store: MemoryObjectStore, prefix = '', after = ''): Promise<string[]> {
  const listed: string[] = [];
  for await (const [key] of store.entries('b', { prefix, after })) listed.push(key);
  return listed;
}

describe('MemoryObjectStore', () => {
  it('lists keys in S3 order (UTF-8 bytes), within a prefix, after a given key', async () => {
    const store = new MemoryObjectStore();
    await store.createBucket('b');
    for (const key of ['tenant=t-10/a', 'tenant=t-1/b', 'tenant=t-1/a', 'tenant=t-1/é', 'tenant=t-1/z', 'tenant=t-2/a']) await store.put('b', key, object(key));
    expect(await keys(store, 'tenant=t-1/')).toEqual(['tenant=t-1/a', 'tenant=t-1/b', 'tenant=t-1/z', 'tenant=t-1/é']);
    expect(await keys(store, 'tenant=t-1/', 'tenant=t-1/b')).toEqual(['tenant=t-1/z', 'tenant=t-1/é']);
    // A prefix without the slash covers t-10 too: why every tenant prefix ends with one.
    expect(await keys(store, 'tenant=t-1')).toEqual(['tenant=t-1/a', 'tenant=t-1/b', 'tenant=t-1/z', 'tenant=t-1/é', 'tenant=t-10/a']);
  });

  it('keeps a listing in step when keys are written and deleted between two of its steps', async () => {
    const store = new MemoryObjectStore();
    await store.createBucket('b');
    for (const key of ['a', 'b', 'c', 'd']) await store.put('b', key, object(key));
    const listed: string[] = [];
    for await (const [key] of store.entries('b', { prefix: '', after: '' })) {
      listed.push(key);
      if (key === 'b') {
        await store.delete('b', 'a');
        await store.delete('b', 'c');
        await store.put('b', 'bb', object('bb'));
      }
    }
    expect(listed).toEqual(['a', 'b', 'bb', 'd']);
  });

  it('replaces an object written twice, and says whether a delete found one', async () => {
    const store = new MemoryObjectStore();
    await store.createBucket('b');
    await store.put('b', 'k', object('one'));
    await store.put('b', 'k', object('two'));
    expect((await store.get('b', 'k'))?.body.toString()).toBe('two');
    expect(await keys(store)).toEqual(['k']);
    expect(await store.delete('b', 'k')).toBe(true);
    expect(await store.delete('b', 'k')).toBe(false);
    expect(await keys(store)).toEqual([]);
  });
});
