/**
 * Self-service export (issue 10, standard tier and up): a tenant admin takes a copy of the tenant's
 * own data — cases with their notes and evidence metadata, and every evidence file — as ZIP
 * archive(s) downloaded through short-lived links.
 *
 *   1. The cell (`POST /exports`, `requestExport`) takes the tenant's export lease and records a
 *      PENDING job in the tenant's own META partition (LeadingKeys-fenced), then asks the control
 *      plane's export broker, signed as the tenant, to run it (`TenantExportRequested`).
 *   2. The control plane's exporter (`runExport`, identity `tenant-export`) builds the archive from
 *      the tenant's cell items and objects through that cell's tenant access role — the fence the
 *      data plane runs behind, so it cannot read a byte of another tenant — into the tenant's own
 *      prefix of the cell's bucket, and records the parts on the job.
 *   3. The cell (`GET /exports/{exportId}`) hands out a presigned GET per part, signed with the
 *      tenant's session only, valid for minutes; the archive itself stays downloadable for
 *      EXPORT_AVAILABLE_DAYS.
 * Why a job and not a streamed response: a tenant's evidence is gigabytes, and an API request
 * lasts 29 seconds.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { evidenceObjectKey, EXPORT_SORT_PREFIX, exportJobKey, exportLeaseKey, exportObjectKey, isUlid } from '../keys/keys.js';
import { isConditionalCheckFailed, queryPages } from '../shared/dynamo.js';
import { ExportInProgress, ExportNotFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { parse } from '../shared/validation.js';
import { requireFeature, requireRole } from '../tenancy/entitlements.js';
import { type TenantBucket, tenantBucket } from '../tenancy/tenant-bucket.js';
import { useTenant } from '../tenancy/tenant-context.js';
import { type TenantTable, tenantTable } from '../tenancy/tenant-table.js';
import { fencedWrite } from '../tenancy/write-fence.js';
import { lanesOf, type StoredItem, walk } from '../tenant-data/walk.js';
import * as Cell from '../cells/cell.js';
import { safeFileName } from '../evidence/content-disposition.js';
import { meterConsumption } from '../metering/consumption.js';
import { tenantBucketIn } from '../tenancy/tenant-bucket.js';
import { tenantTableIn } from '../tenancy/tenant-table.js';
import { getRecord } from '../tenants/tenant.js';
import { type ArchiveOptions, type ArchivePart, ExportArchive } from './export-archive.js';

export const EXPORT_STATUSES = ['PENDING', 'RUNNING', 'READY', 'FAILED', 'EXPIRED'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

/** How long an archive stays downloadable after it is ready. */
export const EXPORT_AVAILABLE_DAYS = 7;
/** How long one download link works. */
export const EXPORT_LINK_SECONDS = 300;
/**
 * A job not finished this long after it was requested has failed (its exporter timed out or its
 * request was lost): the lease lapses and the job reads as FAILED, so the admin can ask again.
 */
export const EXPORT_DEADLINE_MINUTES = 20;
/** The jobs `GET /exports` lists, newest first. */
const LISTED_JOBS = 20;
const DAY_MS = 86_400_000;

export interface ExportCounts {
  cases: number;
  notes: number;
  evidence: number;
  /** Evidence files in the archive (AVAILABLE evidence only: a pending upload is not a file yet). */
  files: number;
  /** Bytes of evidence files. */
  fileBytes: number;
}

export interface ExportDownload {
  part: number;
  bytes: number;
  sha256: string;
  /** Present while the archive is available; a fresh link on every read. */
  url?: string;
  urlExpiresAt?: string;
}

export interface ExportView {
  exportId: string;
  status: ExportStatus;
  requestedBy: string;
  requestedAt: string;
  finishedAt: string | null;
  /** When the archive stops being downloadable (READY only). */
  availableUntil: string | null;
  counts: ExportCounts | null;
  parts: ExportDownload[];
  /** Why it failed, in words for the admin. */
  failure: string | null;
}

interface ExportJobItem {
  PK: string;
  SK: string;
  type: 'export';
  tenantId: string;
  exportId: string;
  status: Exclude<ExportStatus, 'EXPIRED'>;
  requestedBy: string;
  requestedAt: string;
  startedAt?: string;
  finishedAt?: string;
  availableUntil?: string;
  counts?: ExportCounts;
  parts?: ArchivePart[];
  failure?: string;
}

export const ExportId = z.string().check(z.refine(isUlid, 'exportId must be a 26-character export id'));
export const RequestInput = z.strictObject({});

// The cell's side.

/** Where the cell asks the control plane to run an export (the export broker; see export-broker.ts). */
export type ExportRunner = (exportId: string) => Promise<void>;

/**
 * POST /exports: records a PENDING job and has it run. One export at a time per tenant: a second
 * request while one is under way answers 409 EXPORT_IN_PROGRESS naming it.
 */
export async function requestExport(input: unknown, run: ExportRunner, now: Date = new Date()): Promise<ExportView> {
  requireFeature('export');
  requireRole('admin');
  parse(RequestInput, input ?? {});
  const { tenantId, username } = useTenant();
  const table = tenantTable();
  const exportId = newId();
  const job: ExportJobItem = {
    ...exportJobKey(tenantId, exportId),
    type: 'export',
    tenantId,
    exportId,
    status: 'PENDING',
    requestedBy: username,
    requestedAt: now.toISOString(),
  };
  // Fenced like every write of the tenant: a job recorded in a cell the tenant is being moved out of
  // would be left behind by the copy (503 TENANT_MOVING instead; the request can simply be repeated).
  const superseded = await fencedWrite(async () => {
    await takeLease(table, tenantId, exportId, now);
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: job, ConditionExpression: 'attribute_not_exists(PK)' }));
    return supersede(table, tenantId, now);
  });
  // A new export replaces the archives of the earlier ones: a tenant keeps at most one export's bytes.
  await deleteArchives(tenantBucket(), superseded);
  try {
    await run(exportId);
  } catch (error) {
    // Nothing will run it: say so on the job and free the lease, then report the failure (a 500: not the client's doing).
    await finishJob(table, tenantId, exportId, { status: 'FAILED', failure: 'The export could not be started; ask again.' }, now);
    throw error;
  }
  return viewOf(job, now);
}

/**
 * Ends the availability of the tenant's finished exports (they read EXPIRED from now on) and answers
 * their archive parts, for the caller to delete.
 */
async function supersede(table: TenantTable, tenantId: string, now: Date): Promise<ArchivePart[]> {
  const parts: ArchivePart[] = [];
  const readyJobs = queryPages(table.doc, {
    TableName: table.tableName,
    KeyConditionExpression: 'PK = :pk AND begins_with(SK, :jobs)',
    FilterExpression: '#status = :ready',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: { ':pk': exportJobKey(tenantId, '').PK, ':jobs': EXPORT_SORT_PREFIX, ':ready': 'READY' },
  });
  for await (const page of readyJobs) {
    for (const item of page) {
      const job = item as ExportJobItem;
      if (job.availableUntil && Date.parse(job.availableUntil) <= now.getTime() && !job.parts?.length) continue;
      await table.doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: exportJobKey(tenantId, job.exportId),
          UpdateExpression: 'SET availableUntil = :now REMOVE parts',
          ExpressionAttributeValues: { ':now': now.toISOString() },
        }),
      );
      parts.push(...(job.parts ?? []));
    }
  }
  return parts;
}

async function deleteArchives(bucket: Pick<TenantBucket, 's3' | 'bucket'>, parts: readonly ArchivePart[]): Promise<void> {
  await Promise.all(parts.map((part) => bucket.s3.send(new DeleteObjectCommand({ Bucket: bucket.bucket, Key: part.key }))));
}

async function takeLease(table: TenantTable, tenantId: string, exportId: string, now: Date): Promise<void> {
  const until = new Date(now.getTime() + EXPORT_DEADLINE_MINUTES * 60_000).toISOString();
  try {
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...exportLeaseKey(tenantId), type: 'export-lease', tenantId, exportId, until },
        ConditionExpression: 'attribute_not_exists(PK) OR #until < :now',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':now': now.toISOString() },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const { Item } = await table.doc.send(new GetCommand({ TableName: table.tableName, Key: exportLeaseKey(tenantId), ConsistentRead: true }));
    throw new ExportInProgress({ cause: error, ...(typeof Item?.exportId === 'string' ? { exportId: Item.exportId } : {}) });
  }
}

/** GET /exports/{exportId}: the job, with a fresh short-lived link per part while it is available. */
export async function getExport(exportId: unknown, now: Date = new Date()): Promise<ExportView> {
  requireFeature('export');
  requireRole('admin');
  const id = parse(ExportId, exportId, 'exportId');
  const { tenantId } = useTenant();
  const { doc, tableName } = tenantTable();
  const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: exportJobKey(tenantId, id), ConsistentRead: true }));
  if (!Item) throw new ExportNotFound();
  const view = viewOf(Item as ExportJobItem, now);
  if (view.status !== 'READY') return view;
  const bucket = tenantBucket();
  const parts = await Promise.all(
    ((Item as ExportJobItem).parts ?? []).map(async (part): Promise<ExportDownload> => {
      const link = await bucket.presign(
        new GetObjectCommand({
          Bucket: bucket.bucket,
          Key: part.key,
          ResponseContentDisposition: `attachment; filename="${archiveName(id, part.part, view.parts.length)}"`,
          ResponseContentType: 'application/zip',
        }),
        EXPORT_LINK_SECONDS,
      );
      return { part: part.part, bytes: part.bytes, sha256: part.sha256, url: link.url, urlExpiresAt: link.expiresAt };
    }),
  );
  return { ...view, parts };
}

/** GET /exports: the tenant's latest jobs, newest first. */
export async function listExports(now: Date = new Date()): Promise<{ items: ExportView[] }> {
  requireFeature('export');
  requireRole('admin');
  const { tenantId } = useTenant();
  const { doc, tableName } = tenantTable();
  const key = exportJobKey(tenantId, '');
  const { Items } = await doc.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :jobs)',
      ExpressionAttributeValues: { ':pk': key.PK, ':jobs': EXPORT_SORT_PREFIX },
      ScanIndexForward: false,
      Limit: LISTED_JOBS,
    }),
  );
  return { items: (Items ?? []).map((item) => viewOf(item as ExportJobItem, now)) };
}

function archiveName(exportId: string, part: number, parts: number): string {
  return parts > 1 ? `cellbook-export-${exportId}-part-${part}.zip` : `cellbook-export-${exportId}.zip`;
}

function viewOf(job: ExportJobItem, now: Date): ExportView {
  let status: ExportStatus = job.status;
  let failure = job.failure ?? null;
  const overdue = Date.parse(job.requestedAt) + EXPORT_DEADLINE_MINUTES * 60_000 < now.getTime();
  if ((status === 'PENDING' || status === 'RUNNING') && overdue) {
    status = 'FAILED';
    failure = 'The export did not finish in time; ask again.';
  }
  if (status === 'READY' && job.availableUntil && Date.parse(job.availableUntil) <= now.getTime()) status = 'EXPIRED';
  return {
    exportId: job.exportId,
    status,
    requestedBy: job.requestedBy,
    requestedAt: job.requestedAt,
    finishedAt: job.finishedAt ?? null,
    availableUntil: status === 'READY' ? (job.availableUntil ?? null) : null,
    counts: job.counts ?? null,
    parts: status === 'READY' ? (job.parts ?? []).map(({ part, bytes, sha256 }) => ({ part, bytes, sha256 })) : [],
    failure: status === 'FAILED' ? failure : null,
  };
}

// The control plane's side: the exporter.

export interface ExportSources {
  /** The tenant's items in its cell, through the cell's tenant access role tagged with the tenant. */
  table: TenantTable;
  /** The tenant's objects in its cell's bucket, the same way. */
  bucket: Pick<TenantBucket, 's3' | 'bucket'>;
}

export interface RunResult {
  status: 'READY' | 'FAILED' | 'SKIPPED';
  parts: ArchivePart[];
  counts: ExportCounts | null;
}

export interface RunOptions extends ArchiveOptions {
  now?: () => Date;
}

/**
 * Builds one export. Idempotent on redelivery: only a PENDING job is claimed (a RUNNING one whose
 * run was lost is left to its deadline, a finished one to itself). A failure leaves the job FAILED,
 * its unfinished upload aborted and its finished parts deleted: never a partial archive offered.
 */
export async function runExport(sources: ExportSources, tenantId: string, exportId: string, options: RunOptions = {}): Promise<RunResult> {
  const now = options.now ?? (() => new Date());
  const { table, bucket } = sources;
  if (!(await claim(table, tenantId, exportId, now()))) return { status: 'SKIPPED', parts: [], counts: null };
  const archive = new ExportArchive(bucket, (part) => exportObjectKey(tenantId, exportId, part), options);
  const counts: ExportCounts = { cases: 0, notes: 0, evidence: 0, files: 0, fileBytes: 0 };
  try {
    const files: EvidenceFile[] = [];
    await archive.addText('cases.jsonl', caseLines(table, tenantId, counts, files));
    for (const file of files) {
      const name = `evidence/${file.caseId}/${file.evidenceId}-${archiveEntryName(file.name)}`;
      const digest = createHash('sha256');
      const size = await archive.addFile(name, file.size, objectBytes(bucket.s3, bucket.bucket, evidenceObjectKey(tenantId, file.caseId, file.evidenceId), digest));
      if (size !== file.size || (file.sha256 !== undefined && digest.digest('hex') !== file.sha256)) {
        throw new ExportFailure(`Evidence ${file.evidenceId} does not match its recorded size and checksum.`);
      }
      counts.files += 1;
      counts.fileBytes += size;
    }
    await archive.addText('manifest.json', once(`${JSON.stringify({ format: 'cellbook-export/1', tenantId, exportId, createdAt: now().toISOString(), counts }, null, 2)}\n`));
    const parts = await archive.finish();
    const finishedAt = now();
    await finishJob(
      table,
      tenantId,
      exportId,
      { status: 'READY', parts, counts, availableUntil: new Date(finishedAt.getTime() + EXPORT_AVAILABLE_DAYS * DAY_MS).toISOString() },
      finishedAt,
    );
    return { status: 'READY', parts, counts };
  } catch (error) {
    const finished = await archive.abort().catch(() => [] as readonly ArchivePart[]);
    await deleteArchives(bucket, finished);
    const failure = error instanceof ExportFailure ? error.message : 'The export failed; ask again.';
    await finishJob(table, tenantId, exportId, { status: 'FAILED', failure }, now());
    if (error instanceof ExportFailure) return { status: 'FAILED', parts: [], counts: null };
    throw error;
  }
}

/** A reason the export cannot be made that the admin can be told in words. */
class ExportFailure extends Error {}

async function claim(table: TenantTable, tenantId: string, exportId: string, now: Date): Promise<boolean> {
  try {
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: exportJobKey(tenantId, exportId),
        UpdateExpression: 'SET #status = :running, startedAt = :now',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':running': 'RUNNING', ':pending': 'PENDING', ':now': now.toISOString() },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

async function finishJob(
  table: TenantTable,
  tenantId: string,
  exportId: string,
  outcome: Pick<ExportJobItem, 'status' | 'parts' | 'counts' | 'availableUntil' | 'failure'>,
  now: Date,
): Promise<void> {
  const values: Record<string, unknown> = { ':finishedAt': now.toISOString() };
  const names: Record<string, string> = {};
  const sets = ['finishedAt = :finishedAt'];
  for (const [name, value] of Object.entries(outcome)) {
    if (value === undefined) continue;
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    sets.push(`#${name} = :${name}`);
  }
  await table.doc.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: exportJobKey(tenantId, exportId),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
  // The lease is this export's only: a newer request's lease is left alone.
  await table.doc
    .send(
      new DeleteCommand({
        TableName: table.tableName,
        Key: exportLeaseKey(tenantId),
        ConditionExpression: 'exportId = :exportId',
        ExpressionAttributeValues: { ':exportId': exportId },
      }),
    )
    .catch((error: unknown) => {
      if (!isConditionalCheckFailed(error)) throw error;
    });
}

interface EvidenceFile {
  caseId: string;
  evidenceId: string;
  name: string;
  size: number;
  sha256: string | undefined;
}

/** Key attributes and bookkeeping a client never sees in the API, left out of the archive too. */
const INTERNAL_ATTRIBUTES = new Set(['PK', 'SK', 'GSI1PK', 'GSI1SK', 'tenantId', 'type', 'version', 'reserved']);

function publicFields(item: StoredItem): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([name]) => !INTERNAL_ATTRIBUTES.has(name)));
}

/**
 * One JSON line per case: the case, its notes and its evidence metadata, read whole and strongly
 * consistent per case (the walk's guarantee); evidence files are collected for the archive.
 */
async function* caseLines(table: TenantTable, tenantId: string, counts: ExportCounts, files: EvidenceFile[]): AsyncGenerator<string> {
  const lanes = lanesOf({ cell: table }).filter((lane) => lane.segment === 'cases');
  let current: { case: Record<string, unknown>; notes: Record<string, unknown>[]; evidence: Record<string, unknown>[] } | undefined;
  for await (const { item } of walk(lanes, tenantId, undefined, 100)) {
    if (item.type === 'case') {
      if (current) yield `${JSON.stringify(current)}\n`;
      current = { case: publicFields(item), notes: [], evidence: [] };
      counts.cases += 1;
    } else if (current && item.type === 'note') {
      current.notes.push(publicFields(item));
      counts.notes += 1;
    } else if (current && item.type === 'evidence') {
      current.evidence.push(publicFields(item));
      counts.evidence += 1;
      const file = evidenceFileOf(item);
      if (file) files.push(file);
    }
  }
  if (current) yield `${JSON.stringify(current)}\n`;
}

function evidenceFileOf(item: StoredItem): EvidenceFile | undefined {
  const { caseId, evidenceId, name, size, sha256, status } = item;
  if (status !== 'AVAILABLE' || typeof caseId !== 'string' || typeof evidenceId !== 'string' || typeof size !== 'number') return undefined;
  return { caseId, evidenceId, name: typeof name === 'string' ? name : evidenceId, size, sha256: typeof sha256 === 'string' ? sha256 : undefined };
}

/** Characters Windows refuses in a file name (path separators and control characters go in `safeFileName`). */
const RESERVED_ON_WINDOWS = /[<>:"|?*]/g;

/** A name safe as a ZIP entry on every OS: the evidence's safe name, without Windows' reserved characters or a leading dot, bounded. */
export function archiveEntryName(name: string): string {
  return safeFileName(name.normalize('NFC')).replace(RESERVED_ON_WINDOWS, '_').replace(/^\./, '_').slice(0, 120);
}

async function* objectBytes(s3: S3Client, bucket: string, key: string, digest: ReturnType<typeof createHash>): AsyncGenerator<Uint8Array> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!Body) throw new ExportFailure('An evidence file could not be read.');
  for await (const chunk of Body as AsyncIterable<Uint8Array>) {
    digest.update(chunk);
    yield chunk;
  }
}

async function* once(text: string): AsyncGenerator<string> {
  yield text;
}

/**
 * The exporter's run for `TenantExportRequested`: the tenant's cell from the registry, its data
 * through that cell's tenant access role, and the archive's bytes counted in the usage ledger
 * (`exportBytes`, once per export). A tenant gone or without a cell has nothing to export.
 */
export async function runRequestedExport(tenantId: string, exportId: string, actor: string, options: RunOptions = {}): Promise<RunResult> {
  const record = await getRecord(tenantId);
  const cell = record?.cellId ? await Cell.get(record.cellId) : undefined;
  if (!record?.cellId || !cell) return { status: 'SKIPPED', parts: [], counts: null };
  const result = await runExport({ table: tenantTableIn(cell, tenantId), bucket: tenantBucketIn(cell, tenantId) }, tenantId, exportId, options);
  if (result.status === 'READY') {
    const exportBytes = result.parts.reduce((sum, part) => sum + part.bytes, 0);
    await meterConsumption({ tenantId, cellId: cell.cellId, tier: record.tier }, `self-export:${exportId}`, actor, { exportBytes });
  }
  return result;
}
