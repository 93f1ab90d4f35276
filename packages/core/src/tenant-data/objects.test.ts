import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { tenantObjectPrefix } from '../keys/keys.js';
import type { TenantBucket } from '../tenancy/tenant-bucket.js';
import { copyTenantObjects } from './objects.js';

const TENANT = 't-1';

/** A body that streams its bytes in small chunks and refuses to be read whole. */
function streamedBody(bytes: Buffer): Readable {
  const chunks = Array.from({ length: Math.ceil(bytes.byteLength / 1024) }, (_, i) => bytes.subarray(i * 1024, (i + 1) * 1024));
  return Object.assign(Readable.from(chunks), {
    transformToByteArray: () => Promise.reject(new Error('the copy read a whole object into memory')),
  });
}

function bucketsWith(objects: Record<string, { bytes: Buffer; sha256?: string }>) {
  const received = new Map<string, { input: PutObjectCommand['input']; bytes: Buffer }>();
  const source = {
    bucket: 'source',
    s3: {
      send: async (command: unknown) => {
        if (command instanceof ListObjectsV2Command)
          return { Contents: Object.entries(objects).map(([Key, { bytes }]) => ({ Key, Size: bytes.byteLength, LastModified: new Date() })) };
        if (command instanceof GetObjectCommand) {
          const object = objects[command.input.Key ?? '']!;
          return {
            Body: streamedBody(object.bytes),
            ContentLength: object.bytes.byteLength,
            ContentType: 'application/pdf',
            ...(object.sha256 ? { ChecksumSHA256: object.sha256 } : {}),
          };
        }
        throw new Error(`unexpected ${command?.constructor.name}`);
      },
    } as unknown as S3Client,
  } as TenantBucket;
  const target = {
    bucket: 'target',
    s3: {
      send: async (command: unknown) => {
        if (!(command instanceof PutObjectCommand)) throw new Error(`unexpected ${command?.constructor.name}`);
        const body = command.input.Body;
        if (!(body instanceof Readable)) throw new Error(`PutObject got a ${typeof body} body, not a stream`);
        const chunks: Buffer[] = [];
        for await (const chunk of body) chunks.push(chunk as Buffer);
        received.set(command.input.Key ?? '', { input: command.input, bytes: Buffer.concat(chunks) });
        return {};
      },
    } as unknown as S3Client,
  } as TenantBucket;
  return { source, target, received };
}

describe('copyTenantObjects', () => {
  it('streams each object into the target with its length and SHA-256, never reading one whole', async () => {
    const withChecksum = randomBytes(10_000);
    const without = randomBytes(7_000);
    const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64');
    const prefix = tenantObjectPrefix(TENANT);
    const { source, target, received } = bucketsWith({ [`${prefix}a`]: { bytes: withChecksum, sha256: sha(withChecksum) }, [`${prefix}b`]: { bytes: without } });

    const copied = await copyTenantObjects(source, target, TENANT);

    expect(copied).toMatchObject({ count: 2, bytes: 17_000 });
    const a = received.get(`${prefix}a`)!;
    expect(a.bytes.equals(withChecksum)).toBe(true);
    expect(a.input).toMatchObject({ ContentLength: 10_000, ChecksumSHA256: sha(withChecksum), ContentType: 'application/pdf' });
    // Stored without a checksum: the target computes one (ChecksumAlgorithm), the copy hashes what passed.
    const b = received.get(`${prefix}b`)!;
    expect(b.bytes.equals(without)).toBe(true);
    expect(b.input).toMatchObject({ ContentLength: 7_000, ChecksumAlgorithm: 'SHA256' });
    expect(b.input.ChecksumSHA256).toBeUndefined();
    const expected = createHash('sha256')
      .update(`${prefix}a:${sha(withChecksum)}\n${prefix}b:${sha(without)}\n`)
      .digest('hex');
    expect(copied.checksum).toBe(expected);
  });
});
