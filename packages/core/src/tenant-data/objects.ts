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

interface ListedObject {
  key: string;
  size: number;
}

/** Every object key under the tenant's prefix, page by page. */
async function listTenantObjects(bucket: TenantBucket, tenantId: string): Promise<ListedObject[]> {
  assertTenantId(tenantId);
  const prefix = tenantObjectPrefix(tenantId);
  const objects: ListedObject[] = [];
  let token: string | undefined;
  do {
    const page = await bucket.s3.send(new ListObjectsV2Command({ Bucket: bucket.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const object of page.Contents ?? []) {
      // A listing by the tenant's prefix returns nothing else; a key that is not under it is a bug to stop on, not to copy or delete.
      if (!object.Key?.startsWith(prefix)) throw new Error(`listing ${prefix} returned ${JSON.stringify(object.Key)}`);
      objects.push({ key: object.Key, size: object.Size ?? 0 });
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
 * fingerprint of what it read. Each object goes with its SHA-256, which the target verifies on
 * the way in (an object stored without one gets its own computed here), so a copy that completes
 * holds the same bytes. Plain puts: running it again after a crash converges. `onlyMissing`
 * copies only the keys the target lacks (and fingerprints just those).
 */
export async function copyTenantObjects(source: TenantBucket, target: TenantBucket, tenantId: string, options: { onlyMissing?: boolean } = {}): Promise<ObjectFingerprint> {
  if (source.bucket === target.bucket) throw new Error(`refusing to copy tenant ${tenantId}'s objects from ${source.bucket} onto itself`);
  const present = new Set(options.onlyMissing ? (await listTenantObjects(target, tenantId)).map(({ key }) => key) : []);
  const entries = [];
  for (const { key } of await listTenantObjects(source, tenantId)) {
    if (present.has(key)) continue;
    const object = await source.s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: key, ChecksumMode: 'ENABLED' }));
    if (!object.Body) throw new Error(`object ${key} has no body`);
    const bytes = await object.Body.transformToByteArray();
    const sha256 = object.ChecksumSHA256 ?? createHash('sha256').update(bytes).digest('base64');
    await target.s3.send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.byteLength,
        ChecksumSHA256: sha256,
        ...(object.ContentType ? { ContentType: object.ContentType } : {}),
      }),
    );
    entries.push({ key, size: bytes.byteLength, sha256 });
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
