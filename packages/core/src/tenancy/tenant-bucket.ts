/**
 * The S3 half of the tenant fence (DESIGN §11): a client of the cell's evidence bucket whose
 * credentials are the tenant's session (the tenant access role tagged `TenantId=<id>`), so IAM lets
 * it reach only `tenant=<id>/…`. Function roles hold no permission on the bucket at all: every
 * object read or written, and every presigned URL, goes through a tenant session.
 */
import { type GetObjectCommand, type PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { LRU } from 'tiny-lru';
import { requireEnv } from '../shared/config.js';
import { useTenant } from './tenant-context.js';
import { cellTenantSessions, type TenantTableProvider, tenantSessionsIn } from './tenant-table.js';

/**
 * Headers a presigned URL binds beyond the presigner's defaults: `signableHeaders` are signed
 * (the presigner leaves `content-type` unsigned unless named here), `unhoistableHeaders` stay
 * headers the client must send instead of query parameters (an evidence upload's
 * `x-amz-checksum-sha256`, so S3 checks the body against it).
 */
export interface PresignHeaders {
  signableHeaders?: Set<string>;
  unhoistableHeaders?: Set<string>;
}

/** One tenant's view of a cell's evidence bucket. */
export interface TenantBucket {
  /** Signed as the tenant's session: IAM allows object actions only under the tenant's prefix. */
  s3: S3Client;
  bucket: string;
  /**
   * A presigned URL for the command, signed with the tenant's session, valid `expiresInSeconds`
   * (at most a tenant session's length less a few seconds). The session it is signed with is
   * fetched to live at least that long, so the URL works until `expiresAt` and not after.
   */
  presign(command: GetObjectCommand | PutObjectCommand, expiresInSeconds: number, options?: PresignHeaders): Promise<{ url: string; expiresAt: string }>;
}

/**
 * The client settings both worlds share — the endpoint comes from the SDK's own environment
 * (`AWS_ENDPOINT_URL_S3` locally), never from a branch on "local".
 *
 * - Path-style (`https://s3.<region>.amazonaws.com/<bucket>/<key>`): S3 serves it in AWS as well,
 *   and it needs no wildcard DNS for the local endpoint.
 * - Checksums only when an operation requires one or the caller supplies one: by default the SDK
 *   adds a CRC32 to every upload (an aws-chunked body with a trailing checksum for streams) and
 *   puts a CRC32 of an empty body into presigned PUT URLs, which a browser upload then fails.
 *   Evidence declares its SHA-256 explicitly (`ChecksumSHA256`), which S3 verifies.
 */
export function tenantS3Config(credentials: S3ClientConfig['credentials']): S3ClientConfig {
  return {
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials,
  };
}

/** The bucket clients of one tenant access role, per tenant (bounded like the table clients). */
class TenantBuckets {
  private readonly clients = new LRU<S3Client>(200).onEvict(({ value }) => value.destroy());
  /** Presigning clients hold one fixed session each, so a URL is signed with exactly the session vouched for. */
  private readonly presigners = new WeakMap<AwsCredentialIdentity, S3Client>();

  constructor(private readonly sessions: TenantTableProvider) {}

  forTenant(bucket: string, tenantId: string): TenantBucket {
    // Keeps the tenant in the sessions' cache (its credentials are cached while it is there).
    this.sessions.forTenant(tenantId);
    let s3 = this.clients.get(tenantId);
    if (!s3) {
      s3 = new S3Client(tenantS3Config(() => this.sessions.credentialsFor(tenantId)));
      this.clients.set(tenantId, s3);
    }
    return {
      s3,
      bucket,
      presign: async (command, expiresInSeconds, headers = {}) => {
        const credentials = await this.sessions.credentialsLasting(tenantId, expiresInSeconds);
        let presigner = this.presigners.get(credentials);
        if (!presigner) {
          presigner = new S3Client(tenantS3Config(credentials));
          this.presigners.set(credentials, presigner);
        }
        const signedAt = Date.now();
        const url = await getSignedUrl(presigner, command, { expiresIn: expiresInSeconds, signingDate: new Date(signedAt), ...headers });
        return { url, expiresAt: new Date(signedAt + expiresInSeconds * 1000).toISOString() };
      },
    };
  }
}

let cellBuckets: TenantBuckets | undefined;

/** The current tenant's view of this cell's evidence bucket (the environment names bucket and role). */
export function tenantBucket(): TenantBucket {
  cellBuckets ??= new TenantBuckets(cellTenantSessions());
  return cellBuckets.forTenant(requireEnv('EVIDENCE_BUCKET'), useTenant().tenantId);
}

const bucketsByRole = new Map<string, TenantBuckets>();

/**
 * One tenant's view of a given cell's evidence bucket, for control-plane work on its objects
 * (moves, purge, export): it assumes that cell's tenant access role with the tenant's tag, so S3
 * itself keeps the work inside the one tenant's prefix.
 */
export function tenantBucketIn(cell: { tenantRoleArn: string; evidenceBucket: string }, tenantId: string): TenantBucket {
  let buckets = bucketsByRole.get(cell.tenantRoleArn);
  if (!buckets) {
    buckets = new TenantBuckets(tenantSessionsIn(cell.tenantRoleArn));
    bucketsByRole.set(cell.tenantRoleArn, buckets);
  }
  return buckets.forTenant(cell.evidenceBucket, tenantId);
}
