/**
 * Evidence: files attached to a case (DESIGN §11, `evidence` feature, standard and up). The bytes
 * live in the cell's evidence bucket at `tenant=<t>/case=<c>/evidence=<id>`; the metadata is an
 * item in the case's partition (`EVIDENCE#<id>`). Every S3 call and every presigned URL goes
 * through the tenant's session (`tenantBucket()`), so IAM keeps them inside the tenant's prefix.
 *
 * An upload is two steps. `requestUpload` checks everything it can before signing (feature, case,
 * type, per-file size), reserves the declared size against the plan's total (one conditional
 * update: 403 `ENTITLEMENT_LIMIT_REACHED` before anything is signed) and records the file PENDING;
 * the client PUTs the bytes to a presigned URL whose signature covers `Content-Type`,
 * `Content-Length` and `x-amz-checksum-sha256`, so S3 itself refuses any other size, type or
 * content. `complete` then checks the stored object against what was declared and marks it
 * AVAILABLE; it counts nothing (the bytes were counted once, at the request). A file that is not
 * the one declared is deleted, object and item, and its bytes are given back.
 *
 * Bytes are reserved from the request on, so uploads never completed cannot get around the plan's
 * total (GET /me/usage counts them). An abandoned PENDING upload keeps its bytes reserved until the
 * tenant deletes it (DELETE gives back the bytes of a PENDING or AVAILABLE file); there is no
 * sweeper. Its URL expires (UPLOAD_URL_SECONDS); its item stays listed as PENDING; an object it left
 * behind is under the tenant's prefix, so a move copies it and offboarding's purge of the prefix
 * removes it.
 */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { CaseId, assertExists } from '../cases/case.js';
import { EVIDENCE_SORT_PREFIX, caseKey, evidenceKey, evidenceObjectKey, isUlid, isUlidSortKey } from '../keys/keys.js';
import { decodeCursor, encodeCursor } from '../shared/cursor.js';
import { isConditionalCheckFailed } from '../shared/dynamo.js';
import { EvidenceMismatch, EvidenceNotFound, EvidenceNotUploaded, EvidenceTooLarge, EvidenceTypeNotAllowed } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { PageLimit, parse } from '../shared/validation.js';
import * as Counters from '../tenancy/counters.js';
import { currentEntitlements, requireFeature } from '../tenancy/entitlements.js';
import { tenantBucket } from '../tenancy/tenant-bucket.js';
import { useTenant } from '../tenancy/tenant-context.js';
import { tenantTable } from '../tenancy/tenant-table.js';
import { EVIDENCE_CONTENT_TYPES, isEvidenceContentType } from '../tenancy/tiers.js';
import { fencedWrite } from '../tenancy/write-fence.js';
import { attachmentDisposition } from './content-disposition.js';

/**
 * How long an upload URL works: long enough for a large file on a slow line, short enough to leave
 * little behind — and within a tenant session (15 minutes), which a presigned URL cannot outlive.
 */
export const UPLOAD_URL_SECONDS = 10 * 60;
/** How long a download URL works: it is fetched right after it is handed out. */
export const DOWNLOAD_URL_SECONDS = 5 * 60;

export type EvidenceStatus = 'PENDING' | 'AVAILABLE';

export interface EvidenceView {
  evidenceId: string;
  caseId: string;
  name: string;
  /** Bytes. */
  size: number;
  contentType: string;
  /** Hex SHA-256 of the file, as declared and verified. */
  sha256: string;
  status: EvidenceStatus;
  uploadedBy: string;
  createdAt: string;
  completedAt: string | null;
}

interface EvidenceItem extends EvidenceView {
  PK: string;
  SK: string;
  type: 'evidence';
  tenantId: string;
  /**
   * Its bytes were reserved against the plan's total when the upload was requested. Items recorded
   * before reservations at request time lack it: those count from `complete`, as they did.
   */
  reserved?: true;
}

/** Whether the item's bytes are counted in the plan's total now (and must be given back when it goes). */
function counted(item: EvidenceItem): boolean {
  return item.reserved === true || item.status === 'AVAILABLE';
}

export interface UploadInstructions {
  method: 'PUT';
  url: string;
  /** Send exactly these headers with the file: the signature covers them. */
  headers: Record<string, string>;
  expiresAt: string;
}

export interface DownloadLink {
  url: string;
  expiresAt: string;
}

function view(item: EvidenceItem): EvidenceView {
  const { evidenceId, caseId, name, size, contentType, sha256, status, uploadedBy, createdAt, completedAt } = item;
  return { evidenceId, caseId, name, size, contentType, sha256, status, uploadedBy, createdAt, completedAt: completedAt ?? null };
}

export const EvidenceId = z.string().check(z.refine(isUlid, 'evidenceId must be a 26-character evidence id'));

const Name = z.string().check(
  z.trim(),
  z.minLength(1, 'name must not be empty'),
  z.maxLength(255, 'name must be at most 255 characters'),
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  z.refine((name) => !/[\u0000-\u001f\u007f]/.test(name), 'name must not contain control characters'),
);

export const RequestUploadInput = z.strictObject({
  name: Name,
  /** A bare media type (no parameters); matched case-insensitively against the allow-list. */
  contentType: z.string().check(z.trim(), z.toLowerCase(), z.minLength(1), z.maxLength(255)),
  size: z.number().check(z.int('size must be a whole number of bytes'), z.minimum(1, 'size must be at least 1 byte'), z.maximum(Number.MAX_SAFE_INTEGER)),
  /** Hex SHA-256 of the file (64 hex digits, as `sha256sum` prints it). */
  sha256: z.string().check(z.regex(/^[0-9a-fA-F]{64}$/, 'sha256 must be the 64 hex digits of the file’s SHA-256'), z.toLowerCase()),
});
export type RequestUploadInput = z.input<typeof RequestUploadInput>;

/** S3 carries SHA-256 checksums as base64; the API speaks hex. */
export function sha256Base64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/**
 * Records a file to attach to one of the current tenant's cases and answers where to upload it.
 * Refused before anything is signed or written: no `evidence` feature (403), no such case (404),
 * a type off the allow-list or a file over the plan's per-file size (422), or a file that would
 * take the tenant past its plan's total (403 `ENTITLEMENT_LIMIT_REACHED`).
 */
export async function requestUpload(caseId: unknown, input: unknown): Promise<EvidenceView & { upload: UploadInstructions }> {
  requireFeature('evidence');
  const id = parse(CaseId, caseId, 'caseId');
  const { name, contentType, size, sha256 } = parse(RequestUploadInput, input);
  if (!isEvidenceContentType(contentType)) {
    throw new EvidenceTypeNotAllowed(`Files of type ${contentType} cannot be attached as evidence.`, {
      details: [{ path: 'contentType', message: `Allowed types: ${EVIDENCE_CONTENT_TYPES.join(', ')}` }],
    });
  }
  const { limits } = currentEntitlements();
  if (size > limits.maxEvidenceFileBytes) {
    throw new EvidenceTooLarge(`Your plan allows evidence files of at most ${limits.maxEvidenceFileBytes} bytes.`, {
      details: [{ path: 'size', message: `must be at most ${limits.maxEvidenceFileBytes}` }],
    });
  }
  await assertExists(id);

  const { tenantId, username } = useTenant();
  const evidenceId = newId();
  const item: EvidenceItem = {
    ...evidenceKey(tenantId, id, evidenceId),
    type: 'evidence',
    tenantId,
    evidenceId,
    caseId: id,
    name,
    size,
    contentType,
    sha256,
    status: 'PENDING',
    uploadedBy: username,
    createdAt: new Date().toISOString(),
    completedAt: null,
    reserved: true,
  };
  const { doc, tableName } = tenantTable();
  await fencedWrite(async () => {
    // The bytes are taken from the plan's total atomically (403 before anything is written or
    // signed), then the item that holds them; an item that cannot be written gives them back.
    await Counters.reserveAmount('evidenceBytes', size, limits.maxEvidenceBytes);
    try {
      await doc.send(new PutCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(SK)' }));
    } catch (error) {
      await Counters.releaseAmount('evidenceBytes', size);
      throw error;
    }
  });

  const bucket = tenantBucket();
  const checksum = sha256Base64(sha256);
  const signed = await bucket.presign(
    new PutObjectCommand({
      Bucket: bucket.bucket,
      Key: evidenceObjectKey(tenantId, id, evidenceId),
      ContentType: contentType,
      ContentLength: size,
      ChecksumSHA256: checksum,
    }),
    UPLOAD_URL_SECONDS,
    // Signed headers, not query parameters: S3 refuses a body of another length, type or checksum.
    { signableHeaders: new Set(['content-type', 'content-length']), unhoistableHeaders: new Set(['x-amz-checksum-sha256']) },
  );
  return {
    ...view(item),
    upload: {
      method: 'PUT',
      url: signed.url,
      headers: { 'content-type': contentType, 'content-length': String(size), 'x-amz-checksum-sha256': checksum },
      expiresAt: signed.expiresAt,
    },
  };
}

async function load(caseId: string, evidenceId: string): Promise<EvidenceItem> {
  const { doc, tableName } = tenantTable();
  const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: evidenceKey(useTenant().tenantId, caseId, evidenceId), ConsistentRead: true }));
  if (!Item) throw new EvidenceNotFound();
  return Item as EvidenceItem;
}

function parseIds(caseId: unknown, evidenceId: unknown): { caseId: string; evidenceId: string } {
  return { caseId: parse(CaseId, caseId, 'caseId'), evidenceId: parse(EvidenceId, evidenceId, 'evidenceId') };
}

/**
 * Checks the uploaded file against what was declared and makes it available: same size, type and
 * SHA-256 (S3's stored checksum). Its bytes were reserved by the request, so nothing is counted
 * here. Not uploaded yet → 409; a different file → object and item deleted, its bytes given back,
 * 422 (request the upload again). Completing a completed file answers it as it is. (An item from
 * before reservations at request time is counted here, as it was: 403 over the plan's total.)
 */
export async function complete(caseId: unknown, evidenceId: unknown): Promise<EvidenceView> {
  requireFeature('evidence');
  const ids = parseIds(caseId, evidenceId);
  const item = await load(ids.caseId, ids.evidenceId);
  if (item.status === 'AVAILABLE') return view(item);

  const { tenantId } = useTenant();
  const bucket = tenantBucket();
  const key = { Bucket: bucket.bucket, Key: evidenceObjectKey(tenantId, ids.caseId, ids.evidenceId) };
  // Whether it is there, by a listing of its own key: S3 answers a HeadObject of a missing key 403,
  // not 404, to a caller that may not list the whole bucket — as a tenant session may not.
  const listed = await bucket.s3.send(new ListObjectsV2Command({ Bucket: key.Bucket, Prefix: key.Key, MaxKeys: 1 }));
  if (listed.Contents?.[0]?.Key !== key.Key) throw new EvidenceNotUploaded();
  const head = await bucket.s3.send(new HeadObjectCommand({ ...key, ChecksumMode: 'ENABLED' }));
  const stored = { size: head.ContentLength, checksum: head.ChecksumSHA256, contentType: head.ContentType };
  return fencedWrite(async () => {
    if (stored.size !== item.size || stored.checksum !== sha256Base64(item.sha256) || stored.contentType !== item.contentType) {
      await bucket.s3.send(new DeleteObjectCommand(key));
      // The item goes too, and its bytes with it — once: only the call that deletes a PENDING item gives them back.
      const dropped = await deleteItem(tenantId, ids.caseId, ids.evidenceId, 'PENDING');
      if (dropped && counted(dropped)) await Counters.releaseAmount('evidenceBytes', dropped.size);
      throw new EvidenceMismatch('The uploaded file is not the one declared (size, type or SHA-256); it was deleted. Request the upload again.');
    }
    const legacy = item.reserved !== true;
    if (legacy) await Counters.reserveAmount('evidenceBytes', item.size, currentEntitlements().limits.maxEvidenceBytes);
    const completedAt = new Date().toISOString();
    const { doc, tableName } = tenantTable();
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: evidenceKey(tenantId, ids.caseId, ids.evidenceId),
          UpdateExpression: 'SET #status = :available, completedAt = :now',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':available': 'AVAILABLE', ':pending': 'PENDING', ':now': completedAt },
        }),
      );
    } catch (error) {
      // Counted once only: a concurrent complete won (or a delete came first); answer the state now.
      if (legacy) await Counters.releaseAmount('evidenceBytes', item.size);
      if (isConditionalCheckFailed(error)) return view(await load(ids.caseId, ids.evidenceId));
      throw error;
    }
    return view({ ...item, status: 'AVAILABLE', completedAt });
  });
}

export const ListInput = z.strictObject({
  limit: PageLimit(100, 50, 'limit must be a whole number'),
  cursor: z.optional(z.string()),
});

/** The case's evidence, oldest first, PENDING uploads included (paged like notes). */
export async function list(caseId: unknown, input: unknown): Promise<{ items: EvidenceView[]; nextCursor: string | null }> {
  requireFeature('evidence');
  const id = parse(CaseId, caseId, 'caseId');
  const { limit, cursor } = parse(ListInput, input);
  await assertExists(id);
  const partition = caseKey(useTenant().tenantId, id).PK;
  const startKey = decodeCursor(cursor, {
    attributes: ['PK', 'SK'],
    accept: (key) => key.PK === partition && isUlidSortKey(key.SK, EVIDENCE_SORT_PREFIX),
  });
  const { doc, tableName } = tenantTable();
  const result = await doc.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :evidence)',
      ExpressionAttributeValues: { ':pk': partition, ':evidence': EVIDENCE_SORT_PREFIX },
      Limit: limit,
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    }),
  );
  return {
    items: (result.Items ?? []).map((item) => view(item as EvidenceItem)),
    nextCursor: encodeCursor(result.LastEvaluatedKey as Record<string, string> | undefined),
  };
}

/**
 * One file's metadata and, once it is AVAILABLE, a short-lived download link (signed with the
 * tenant's session, served as an attachment under its sanitised name). Another tenant's id reads
 * nothing: the key is built from the caller's tenant, so it names nothing and no URL is signed.
 */
export async function get(caseId: unknown, evidenceId: unknown): Promise<EvidenceView & { download: DownloadLink | null }> {
  requireFeature('evidence');
  const ids = parseIds(caseId, evidenceId);
  const item = await load(ids.caseId, ids.evidenceId);
  if (item.status !== 'AVAILABLE') return { ...view(item), download: null };
  const bucket = tenantBucket();
  const download = await bucket.presign(
    new GetObjectCommand({
      Bucket: bucket.bucket,
      Key: evidenceObjectKey(useTenant().tenantId, ids.caseId, ids.evidenceId),
      ResponseContentDisposition: attachmentDisposition(item.name),
      ResponseContentType: item.contentType,
    }),
    DOWNLOAD_URL_SECONDS,
  );
  return { ...view(item), download };
}

/** Deletes an evidence item (only in `status` when given); answers what it deleted, or undefined when there was no such item. */
async function deleteItem(tenantId: string, caseId: string, evidenceId: string, status?: EvidenceStatus): Promise<EvidenceItem | undefined> {
  const { doc, tableName } = tenantTable();
  try {
    const { Attributes } = await doc.send(
      new DeleteCommand({
        TableName: tableName,
        Key: evidenceKey(tenantId, caseId, evidenceId),
        ConditionExpression: status ? 'attribute_exists(SK) AND #status = :status' : 'attribute_exists(SK)',
        ...(status ? { ExpressionAttributeNames: { '#status': 'status' }, ExpressionAttributeValues: { ':status': status } } : {}),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes as EvidenceItem;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return undefined;
    throw error;
  }
}

/**
 * Deletes a file, PENDING or AVAILABLE: the object first, then its item, then its bytes are given
 * back to the plan (reserved since the request). A crash in between leaves the item (delete again)
 * and never an uncounted object that nothing lists.
 */
export async function remove(caseId: unknown, evidenceId: unknown): Promise<void> {
  requireFeature('evidence');
  const ids = parseIds(caseId, evidenceId);
  await load(ids.caseId, ids.evidenceId);
  const { tenantId } = useTenant();
  const bucket = tenantBucket();
  await fencedWrite(async () => {
    await bucket.s3.send(new DeleteObjectCommand({ Bucket: bucket.bucket, Key: evidenceObjectKey(tenantId, ids.caseId, ids.evidenceId) }));
    const removed = await deleteItem(tenantId, ids.caseId, ids.evidenceId);
    if (!removed) throw new EvidenceNotFound();
    if (counted(removed)) await Counters.releaseAmount('evidenceBytes', removed.size);
  });
}
