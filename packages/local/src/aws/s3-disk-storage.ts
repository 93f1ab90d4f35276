/**
 * The local S3 endpoint's objects on disk (`npm start` with a data directory): one file per object,
 * `<root>/<bucket>/<sha256 of the key>.object`, holding a length-prefixed JSON header (the key, ETag,
 * metadata, checksums…) and then the body. A put writes a temporary file and renames it over the
 * old one, so a reader or a crash sees the whole previous object or the whole new one. Evidence is
 * a tenant's: the files and directories are the owner's alone (0600 / 0700).
 *
 * Listings come from an index kept in memory (keys in S3's order with their summaries), built at
 * open by reading each file's header; bodies are read from disk only by `get`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { searchKeys, compareKeys, type ObjectStore, type ObjectSummary, type StoredObject } from './s3-storage.js';

type Header = Omit<StoredObject, 'body'> & { key: string };

interface DiskBucket {
  dir: string;
  summaries: Map<string, ObjectSummary>;
  /** Every key, sorted: listings page through it by binary search. */
  keys: string[];
}

const SUFFIX = '.object';
/** S3 bucket names are lower-case letters, digits, dots and hyphens: safe as directory names. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function fileName(key: string): string {
  // Keys may be 1,024 bytes and hold any character; a digest is a safe, fixed-length file name.
  return `${createHash('sha256').update(key, 'utf8').digest('hex')}${SUFFIX}`;
}

function encode(key: string, object: StoredObject): Buffer {
  const { body, ...rest } = object;
  const header = Buffer.from(JSON.stringify({ ...rest, key } satisfies Header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.length);
  return Buffer.concat([length, header, body]);
}

function decode(file: Buffer): { header: Header; body: Buffer } {
  const headerLength = file.readUInt32BE(0);
  const header = JSON.parse(file.subarray(4, 4 + headerLength).toString('utf8')) as Header;
  return { header, body: file.subarray(4 + headerLength) };
}

/** Reads only a file's header (and its size), for the index. */
async function readHeader(path: string): Promise<{ header: Header; size: number }> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const prefix = Buffer.alloc(4);
    await handle.read(prefix, 0, 4, 0);
    const headerLength = prefix.readUInt32BE(0);
    const header = Buffer.alloc(headerLength);
    await handle.read(header, 0, headerLength, 4);
    return { header: JSON.parse(header.toString('utf8')) as Header, size: size - 4 - headerLength };
  } finally {
    await handle.close();
  }
}

export class DiskObjectStore implements ObjectStore {
  private readonly buckets = new Map<string, DiskBucket>();
  /** Writes and deletes of one key run one after the other, so the index ends as the disk does. */
  private readonly pending = new Map<string, Promise<unknown>>();

  private constructor(private readonly root: string) {}

  /** The store under `root`, with every bucket and object an earlier run left there. */
  static async open(root: string): Promise<DiskObjectStore> {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    const store = new DiskObjectStore(root);
    for (const entry of await readdir(root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !BUCKET_NAME.test(entry.name)) continue;
      const bucket = store.addBucket(entry.name);
      for (const file of await readdir(bucket.dir)) {
        // Leftover temporaries are writes a crash interrupted: the object they would have replaced stands.
        if (!file.endsWith(SUFFIX)) continue;
        const { header, size } = await readHeader(join(bucket.dir, file));
        bucket.summaries.set(header.key, { etag: header.etag, lastModified: header.lastModified, size });
        bucket.keys.push(header.key);
      }
      bucket.keys.sort(compareKeys);
    }
    return store;
  }

  async createBucket(bucket: string): Promise<void> {
    if (!BUCKET_NAME.test(bucket)) throw new Error(`${bucket} is not a bucket name`);
    if (!this.buckets.has(bucket)) this.addBucket(bucket);
  }

  async hasBucket(bucket: string): Promise<boolean> {
    return this.buckets.has(bucket);
  }

  async get(bucket: string, key: string): Promise<StoredObject | undefined> {
    const store = this.buckets.get(bucket);
    if (!store?.summaries.has(key)) return undefined;
    let file: Buffer;
    try {
      file = await readFile(join(store.dir, fileName(key)));
    } catch (error) {
      // Deleted between the index lookup and the read.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const { header, body } = decode(file);
    const { key: _key, ...rest } = header;
    return { ...rest, body };
  }

  async put(bucket: string, key: string, object: StoredObject): Promise<void> {
    const store = this.bucket(bucket);
    await this.serialized(bucket, key, async () => {
      const path = join(store.dir, fileName(key));
      const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      await writeFile(temporary, encode(key, object), { mode: 0o600 });
      await rename(temporary, path);
      if (!store.summaries.has(key)) store.keys.splice(searchKeys(store.keys, key, true), 0, key);
      store.summaries.set(key, { etag: object.etag, lastModified: object.lastModified, size: object.body.length });
    });
  }

  async delete(bucket: string, key: string): Promise<boolean> {
    const store = this.bucket(bucket);
    return this.serialized(bucket, key, async () => {
      if (!store.summaries.has(key)) return false;
      await unlink(join(store.dir, fileName(key))).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      store.summaries.delete(key);
      store.keys.splice(searchKeys(store.keys, key, true), 1);
      return true;
    });
  }

  async *entries(bucket: string, { prefix, after }: { prefix: string; after: string }): AsyncIterable<[string, ObjectSummary]> {
    const store = this.bucket(bucket);
    let index = compareKeys(prefix, after) > 0 ? searchKeys(store.keys, prefix, true) : searchKeys(store.keys, after, false);
    while (index < store.keys.length) {
      const key = store.keys[index] as string;
      if (!key.startsWith(prefix)) return;
      yield [key, { ...(store.summaries.get(key) as ObjectSummary) }];
      // Found again from the key just listed: writes and deletes between two steps shift no entry.
      index = searchKeys(store.keys, key, false);
    }
  }

  private addBucket(bucket: string): DiskBucket {
    const dir = join(this.root, bucket);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const created: DiskBucket = { dir, summaries: new Map(), keys: [] };
    this.buckets.set(bucket, created);
    return created;
  }

  private bucket(bucket: string): DiskBucket {
    const store = this.buckets.get(bucket);
    if (store === undefined) throw new Error(`no bucket ${bucket}`);
    return store;
  }

  private serialized<T>(bucket: string, key: string, work: () => Promise<T>): Promise<T> {
    const id = `${bucket}/${key}`;
    const run = (this.pending.get(id) ?? Promise.resolve()).then(work, work);
    const settled = run.catch(() => undefined);
    this.pending.set(id, settled);
    void settled.then(() => {
      if (this.pending.get(id) === settled) this.pending.delete(id);
    });
    return run;
  }
}
