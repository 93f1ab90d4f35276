/**
 * A tenant's objects in a cell's evidence bucket, whole — everything under `tenant=<id>/`, listed
 * (ListObjectsV2 by the tenant's prefix), never guessed from the items — for moves (copy, verify,
 * purge) and offboarding (purge, verify none is left). Every call goes through a `TenantBucket`, a
 * client signed as the tenant's session in that cell, so IAM confines the work to the tenant's
 * prefix: a listing of anything else is refused, not filtered.
 *
 * The fingerprint of a set of objects is its count and a SHA-256 over the sorted `key:sha256`
 * lines, the SHA-256 being S3's own stored checksum of each object: two buckets with the same
 * fingerprint hold the same keys with the same bytes.
 */
import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { assertTenantId, tenantObjectPrefix } from '../keys/keys.js';
import type { TenantBucket } from '../tenancy/tenant-bucket.js';

export interface ObjectFingerprint {
  count: number;
  /** Hex SHA-256 of the sorted `key:sha256` lines (the empty set has the hash of nothing). */
  checksum: string;
  /** Total bytes. */
  bytes: number;
}

export interface ListedObject {
  key: string;
  size: number;
  /** When the object was stored, as the listing has it (S3 gives whole seconds). */
  lastModified: Date | undefined;
}

/** Every object key under the tenant's prefix, page by page. */
export async function listTenantObjects(bucket: TenantBucket, tenantId: string): Promise<ListedObject[]> {
  assertTenantId(tenantId);
  const prefix = tenantObjectPrefix(tenantId);
  const objects: ListedObject[] = [];
  let token: string | undefined;
  do {
    const page = await bucket.s3.send(new ListObjectsV2Command({ Bucket: bucket.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const object of page.Contents ?? []) {
      // A listing by the tenant's prefix returns nothing else; a key that is not under it is a bug to stop on, not to copy or delete.
      if (!object.Key?.startsWith(prefix)) throw new Error(`listing ${prefix} returned ${JSON.stringify(object.Key)}`);
      objects.push({ key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

function fingerprintOf(entries: readonly { key: string; sha256: string; size: number }[]): ObjectFingerprint {
  const hash = createHash('sha256');
  for (const { key, sha256 } of [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) hash.update(`${key}:${sha256}\n`);
  return { count: entries.length, checksum: hash.digest('hex'), bytes: entries.reduce((sum, entry) => sum + entry.size, 0) };
}

/** The object's SHA-256 (base64) as S3 stored it, or undefined when it was stored without one. */
async function storedChecksum(bucket: TenantBucket, key: string): Promise<string | undefined> {
  const head = await bucket.s3.send(new HeadObjectCommand({ Bucket: bucket.bucket, Key: key, ChecksumMode: 'ENABLED' }));
  return head.ChecksumSHA256;
}

/** The fingerprint of the tenant's objects in a bucket (one listing, one HeadObject per object). */
export async function fingerprintTenantObjects(bucket: TenantBucket, tenantId: string): Promise<ObjectFingerprint> {
  const entries = [];
  for (const { key, size } of await listTenantObjects(bucket, tenantId)) entries.push({ key, size, sha256: (await storedChecksum(bucket, key)) ?? 'none' });
  return fingerprintOf(entries);
}

/**
 * Copies every object of the tenant from `source` to `target` (same keys), and returns the
 * fingerprint of what it read. Each object streams from the GetObject body into the PutObject (its
 * length given), so memory stays bounded whatever the object's size (archives and evidence up to
 * 2 GiB, a mover of 1 GB). Each goes with its SHA-256, which the target verifies on the way in: the
 * stored one when the object has it; otherwise the target computes one (the SDK sends it as a
 * trailer) and the copy hashes the bytes as they pass, for the fingerprint. So a copy that
 * completes holds the same bytes. Plain puts: running it again after a crash converges.
 *
 * `only` narrows the copy to the listed objects it accepts (and fingerprints just those).
 */
export async function copyTenantObjects(
  source: TenantBucket,
  target: TenantBucket,
  tenantId: string,
  options: { only?: (object: ListedObject) => boolean } = {},
): Promise<ObjectFingerprint> {
  if (source.bucket === target.bucket) throw new Error(`refusing to copy tenant ${tenantId}'s objects from ${source.bucket} onto itself`);
  const entries = [];
  for (const listed of await listTenantObjects(source, tenantId)) {
    if (options.only && !options.only(listed)) continue;
    const { key } = listed;
    const object = await source.s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: key, ChecksumMode: 'ENABLED' }));
    if (!object.Body) throw new Error(`object ${key} has no body`);
    if (object.ContentLength === undefined) throw new Error(`object ${key} came without its length`);
    const body = object.Body as Readable;
    // Without a stored checksum, the bytes are hashed as they stream through (never held whole).
    const hash = object.ChecksumSHA256 ? undefined : createHash('sha256');
    const stream = hash
      ? body.pipe(
          new Transform({
            transform(chunk: Buffer, _encoding, done) {
              hash.update(chunk);
              done(null, chunk);
            },
          }),
        )
      : body;
    if (hash) body.once('error', (error) => stream.destroy(error));
    try {
      await target.s3.send(
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: key,
          Body: stream,
          ContentLength: object.ContentLength,
          ...(object.ChecksumSHA256 ? { ChecksumSHA256: object.ChecksumSHA256 } : { ChecksumAlgorithm: 'SHA256' }),
          ...(object.ContentType ? { ContentType: object.ContentType } : {}),
        }),
      );
    } catch (error) {
      // A put that failed half-way leaves the download open: close it (a stream cannot be replayed; a rerun copies again).
      body.destroy();
      throw error;
    }
    const sha256 = object.ChecksumSHA256 ?? hash?.digest('base64');
    if (!sha256) throw new Error(`object ${key}: no SHA-256`);
    entries.push({ key, size: object.ContentLength, sha256 });
  }
  return fingerprintOf(entries);
}

export interface ObjectPurgeResult {
  deleted: number;
  /** Objects still under the tenant's prefix when listed again afterwards; the caller expects 0. */
  remaining: number;
}

/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;

/** Deletes every object under the tenant's prefix, then lists the prefix again and reports what is left. */
export async function purgeTenantObjects(bucket: TenantBucket, tenantId: string): Promise<ObjectPurgeResult> {
  const keys = (await listTenantObjects(bucket, tenantId)).map(({ key }) => key);
  for (let start = 0; start < keys.length; start += DELETE_BATCH) {
    const batch = keys.slice(start, start + DELETE_BATCH);
    const { Errors } = await bucket.s3.send(new DeleteObjectsCommand({ Bucket: bucket.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    if (Errors?.length) throw new Error(`deleting tenant ${tenantId}'s objects: ${Errors.length} refused, first ${Errors[0]?.Key}: ${Errors[0]?.Code}`);
  }
  return { deleted: keys.length, remaining: (await listTenantObjects(bucket, tenantId)).length };
}
