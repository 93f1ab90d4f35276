/**
 * Where the local S3 endpoint keeps buckets and objects: a small interface, so the in-memory store
 * (tests) and the one on disk (`npm start`, s3-disk-storage.ts) are interchangeable without touching
 * the protocol or the fence.
 */

/** The checksum algorithms S3 can store with an object (`x-amz-checksum-<name>`). */
export type ChecksumName = 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256';

export interface StoredObject {
  body: Buffer;
  /** `"<md5 hex>"`, or `"<md5 of part md5s>-<parts>"` for a multipart upload, quotes included. */
  etag: string;
  /** epoch ms */
  lastModified: number;
  contentType: string;
  contentDisposition?: string;
  /** `x-amz-meta-*` values by their lower-case name (without the prefix). */
  metadata: Record<string, string>;
  /** Base64 checksums the uploader supplied and S3 verified. */
  checksums: Partial<Record<ChecksumName, string>>;
}

/** What a listing returns for an object (no body). */
export type ObjectSummary = Pick<StoredObject, 'etag' | 'lastModified'> & { size: number };

export interface ObjectStore {
  createBucket(bucket: string): Promise<void>;
  hasBucket(bucket: string): Promise<boolean>;
  get(bucket: string, key: string): Promise<StoredObject | undefined>;
  put(bucket: string, key: string, object: StoredObject): Promise<void>;
  /** True when there was an object to delete. */
  delete(bucket: string, key: string): Promise<boolean>;
  /** The bucket's keys that start with `prefix` and sort after `after`, in S3's (binary) order. */
  entries(bucket: string, options: { prefix: string; after: string }): AsyncIterable<[string, ObjectSummary]>;
}

interface MemoryBucket {
  objects: Map<string, StoredObject>;
  /** Every key, sorted: listings page through it by binary search. */
  keys: string[];
}

/** Keys compare as S3 lists them: by UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The first index whose key sorts after `key` (`inclusive`: at or after). */
export function searchKeys(keys: readonly string[], key: string, inclusive: boolean): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const order = compareKeys(keys[middle] as string, key);
    if (order < 0 || (order === 0 && !inclusive)) low = middle + 1;
    else high = middle;
  }
  return low;
}

export class MemoryObjectStore implements ObjectStore {
  private readonly buckets = new Map<string, MemoryBucket>();

  async createBucket(bucket: string): Promise<void> {
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, { objects: new Map(), keys: [] });
  }

  async hasBucket(bucket: string): Promise<boolean> {
    return this.buckets.has(bucket);
  }

  async get(bucket: string, key: string): Promise<StoredObject | undefined> {
    return this.buckets.get(bucket)?.objects.get(key);
  }

  async put(bucket: string, key: string, object: StoredObject): Promise<void> {
    const store = this.bucket(bucket);
    if (!store.objects.has(key)) store.keys.splice(searchKeys(store.keys, key, true), 0, key);
    store.objects.set(key, object);
  }

  async delete(bucket: string, key: string): Promise<boolean> {
    const store = this.bucket(bucket);
    if (!store.objects.delete(key)) return false;
    store.keys.splice(searchKeys(store.keys, key, true), 1);
    return true;
  }

  async *entries(bucket: string, { prefix, after }: { prefix: string; after: string }): AsyncIterable<[string, ObjectSummary]> {
    const store = this.bucket(bucket);
    let index = compareKeys(prefix, after) > 0 ? searchKeys(store.keys, prefix, true) : searchKeys(store.keys, after, false);
    while (index < store.keys.length) {
      const key = store.keys[index] as string;
      if (!key.startsWith(prefix)) return;
      const object = store.objects.get(key) as StoredObject;
      yield [key, { etag: object.etag, lastModified: object.lastModified, size: object.body.length }];
      // Found again from the key just listed: writes and deletes between two steps shift no entry.
      index = searchKeys(store.keys, key, false);
    }
  }

  private bucket(bucket: string): MemoryBucket {
    const store = this.buckets.get(bucket);
    if (store === undefined) throw new Error(`no bucket ${bucket}`);
    return store;
  }
}
