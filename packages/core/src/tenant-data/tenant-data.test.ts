import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tableArn } from '@cellbook/local/aws/dynamodb-access-checks';
import { createDynamoDbEndpoint, startLocalDynamo, type LocalDynamo } from '@cellbook/local/aws/dynamodb-endpoint';
import { LocalIam, sdkCredentials } from '@cellbook/local/aws/local-iam';
import { LOCAL_REGION, type PolicyDocument } from '@cellbook/local/aws/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, releaseDocumentClient } from '../shared/dynamo.js';
import { InvalidCursor } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import {
  auditKey,
  caseKey,
  caseListingKey,
  caseListingPartition,
  isCaseItemKey,
  noteKey,
  tenantMetaKey,
  tenantPartitionPrefix,
  tenantRecordKey,
  tenantRegistryPartition,
  tenantUserKey,
} from '../keys/keys.js';
import { tenantAccessPolicy } from '../access/tenant-access-policy.js';
import { readTenantItems } from './export.js';
import { exportLines, fingerprint, fingerprintTenantCellItems } from './fingerprint.js';
import { iterateTenantItems, type StoredItem, type TableRef, type TenantDataSources, type TenantItem } from './walk.js';
import { copyTenantCellItems, copyTenantCellItemsResumable, type CopyCheckpoint, purgeTenantCellItems } from './write.js';

const TENANT_ROLE = 'arn:aws:iam::000000000000:role/cell-tenant-access';
/** Small Query pages, so every partition and the GSI1 listing take several requests. */
const QUERY_PAGE_SIZE = 4;
const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 5 };

let dynamo: LocalDynamo;
let fencedEndpoint: Server;
/** Unscoped client straight to dynalite: creates tables, seeds, and Scans as the test's oracle. */
let admin: DynamoDBDocumentClient;
const clients: DynamoDBDocumentClient[] = [];
const iam = new LocalIam();
let tableCounter = 0;

function track(doc: DynamoDBDocumentClient): DynamoDBDocumentClient {
  clients.push(doc);
  return doc;
}

/** A client straight to dynalite (no IAM in the way). */
function directClient(): DynamoDBDocumentClient {
  return track(documentClient({ endpoint: dynamo.url, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }));
}

/**
 * A client holding a tenant session, as production's tenant-scoped client: the IAM-enforcing
 * endpoint evaluates the real tenant access policy on every request, so a Scan or any key not
 * leading with `TENANT#<id>` fails with AccessDeniedException.
 */
function tenantClient(tenantId: string): DynamoDBDocumentClient {
  const { port } = fencedEndpoint.address() as AddressInfo;
  const session = iam.issueRoleSession(TENANT_ROLE, `tenant-${tenantId}`, { TenantId: tenantId });
  return track(documentClient({ endpoint: `http://127.0.0.1:${port}`, region: LOCAL_REGION, credentials: sdkCredentials(session), maxAttempts: 1 }));
}

interface WriteRequest {
  PutRequest?: { Item: StoredItem };
  DeleteRequest?: { Key: StoredItem };
}

interface Fault {
  /** Throw before sending, like a Lambda that times out or dies between two batches. */
  crash?: boolean;
  /** Requests DynamoDB "did not get to": returned as UnprocessedItems instead of being written. */
  refuse?: (request: WriteRequest, index: number, batch: WriteRequest[]) => boolean;
}

/**
 * A direct client whose BatchWriteItem calls go through `fault` first. dynalite never throttles
 * and never crashes half-way, so unprocessed items and crashes are injected here (at the document
 * level, before marshalling), while every request that does go out hits real dynalite.
 */
function faultyClient(fault: (batch: WriteRequest[], call: number) => Fault): DynamoDBDocumentClient {
  const doc = directClient();
  let calls = 0;
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'BatchWriteItemCommand') return next(args);
      calls += 1;
      const [tableName, batch] = Object.entries((args.input as unknown as { RequestItems: Record<string, WriteRequest[]> }).RequestItems)[0]!;
      const { crash = false, refuse = () => false } = fault(batch, calls);
      if (crash) throw new Error('simulated crash');
      const refused = batch.filter((request, index) => refuse(request, index, batch));
      const accepted = batch.filter((request) => !refused.includes(request));
      if (accepted.length === 0) return { output: { UnprocessedItems: { [tableName]: refused }, $metadata: {} }, response: {} } as never;
      const result = await next({ ...args, input: { RequestItems: { [tableName]: accepted } } as never });
      if (refused.length > 0) (result.output as { UnprocessedItems?: Record<string, WriteRequest[]> }).UnprocessedItems = { [tableName]: refused };
      return result;
    },
    { step: 'initialize', name: 'injectBatchWriteFaults' },
  );
  return doc;
}

async function createTable(prefix: string): Promise<string> {
  tableCounter += 1;
  const TableName = `${prefix}-${tableCounter}`;
  const definition: CreateTableCommandInput = {
    TableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'PK', AttributeType: 'S' },
      { AttributeName: 'SK', AttributeType: 'S' },
      { AttributeName: 'GSI1PK', AttributeType: 'S' },
      { AttributeName: 'GSI1SK', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: 'GSI1',
        KeySchema: [
          { AttributeName: 'GSI1PK', KeyType: 'HASH' },
          { AttributeName: 'GSI1SK', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
  await admin.send(new CreateTableCommand(definition));
  return TableName;
}

async function putAll(tableName: string, items: StoredItem[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    const { UnprocessedItems } = await admin.send(new BatchWriteCommand({ RequestItems: { [tableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
    expect(UnprocessedItems?.[tableName] ?? []).toEqual([]);
  }
}

/** Everything in a table (Scan: the test's oracle, never the code under test). */
async function scanAll(tableName: string): Promise<StoredItem[]> {
  const items: StoredItem[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await admin.send(new ScanCommand({ TableName: tableName, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

function belongsTo(tenantId: string, item: StoredItem): boolean {
  const prefix = tenantPartitionPrefix(tenantId);
  return item.PK === prefix || String(item.PK).startsWith(`${prefix}#`);
}

async function tenantItemsIn(tableName: string, tenantId: string): Promise<StoredItem[]> {
  return (await scanAll(tableName)).filter((item) => belongsTo(tenantId, item));
}

function keyText(item: StoredItem): string {
  return `${String(item.PK)} | ${String(item.SK)}`;
}

function sortedKeys(items: StoredItem[]): string[] {
  return items.map(keyText).sort();
}

// Seed data, shaped like the items case.ts, note.ts, user.ts, counters.ts and audit.ts write.

interface TenantShape {
  cases: number;
  notesOfCase: (index: number) => number;
  users: number;
}

function cellItemsOf(tenantId: string, shape: TenantShape): StoredItem[] {
  const items: StoredItem[] = [{ ...tenantMetaKey(tenantId), tenantId, activeCases: shape.cases, users: shape.users, writesInFlight: 0 }];
  for (let u = 0; u < shape.users; u++) {
    const username = `user${u}@${tenantId}.example`;
    items.push({
      ...tenantUserKey(tenantId, username),
      type: 'user',
      tenantId,
      username,
      email: username,
      role: u === 0 ? 'admin' : 'agent',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
  }
  for (let c = 0; c < shape.cases; c++) {
    const caseId = newId();
    const createdAt = new Date(Date.UTC(2026, 0, 1, 0, c)).toISOString();
    items.push({
      ...caseKey(tenantId, caseId),
      ...caseListingKey(tenantId, c % 4 === 0 ? 'IN_PROGRESS' : 'OPEN', createdAt, caseId),
      type: 'case',
      tenantId,
      caseId,
      title: `Case ${c} of ${tenantId}`,
      description: c === 0 ? 'Printer on fire — “again”\nsecond line' : '',
      priority: 'medium',
      status: c % 4 === 0 ? 'IN_PROGRESS' : 'OPEN',
      assignee: null,
      createdAt,
      updatedAt: createdAt,
      createdBy: `user0@${tenantId}.example`,
      version: 1,
      // Nothing in core writes sets on tenant items today; the export must be faithful anyway.
      ...(c === 1 ? { labels: new Set(['vip', 'billing', 'escalated']), watchers: new Set([30, 4, 100]) } : {}),
    });
    for (let n = 0; n < shape.notesOfCase(c); n++) {
      const noteId = newId();
      items.push({
        ...noteKey(tenantId, caseId, noteId),
        type: 'note',
        tenantId,
        noteId,
        caseId,
        body: `note ${n} on case ${c}`,
        author: `user0@${tenantId}.example`,
        createdAt,
      });
    }
  }
  return items;
}

function registryItemsOf(tenantId: string): StoredItem[] {
  const now = '2026-01-01T00:00:00.000Z';
  return [
    {
      ...tenantRecordKey(tenantId),
      GSI1PK: 'TENANTS',
      GSI1SK: `${now}#${tenantId}`,
      tenantId,
      name: `Tenant ${tenantId}`,
      tier: 'standard',
      status: 'SUSPENDED',
      cellId: 'cell-1',
      overrides: {},
      adminUsername: `user0@${tenantId}.example`,
      createdAt: now,
      updatedAt: now,
      onboarding: { steps: { placed: now, cellSeeded: now } },
    },
    ...[1, 2, 3].map((n) => {
      const auditId = newId();
      return {
        ...auditKey(tenantId, auditId),
        type: 'audit',
        tenantId,
        auditId,
        at: now,
        actor: 'operator',
        action: `tenant.step-${n}`,
        before: { status: 'ACTIVE' },
        after: { status: 'SUSPENDED' },
      };
    }),
    // A kind of control-plane item this module does not know: exports take the whole partition.
    { PK: tenantRegistryPartition(tenantId), SK: 'ONBOARDING#LOG#0001', step: 'placed', at: now },
  ];
}

/** t-1: more than 25 items, a case with many notes (several Query pages), sets on one case. */
const T1_SHAPE: TenantShape = { cases: 30, notesOfCase: (c) => (c === 0 ? 60 : c % 3), users: 3 };
/** t-10: t-1 is a prefix of its id, so every operation on t-1 must leave it alone. */
const T10_SHAPE: TenantShape = { cases: 6, notesOfCase: () => 2, users: 2 };

interface World {
  registry: string;
  cell: string;
}

/** A registry table and a cell table, each holding t-1 and t-10. */
async function seededWorld(): Promise<World> {
  const registry = await createTable('test-registry');
  const cell = await createTable('test-cell');
  await putAll(registry, [...registryItemsOf('t-1'), ...registryItemsOf('t-10')]);
  await putAll(cell, [...cellItemsOf('t-1', T1_SHAPE), ...cellItemsOf('t-10', T10_SHAPE)]);
  return { registry, cell };
}

async function readAllPages(sources: TenantDataSources, tenantId: string, limit: number, options: { maxBytes?: number } = {}): Promise<TenantItem[][]> {
  const pages: TenantItem[][] = [];
  let cursor: string | undefined;
  do {
    const page = await readTenantItems(sources, tenantId, { limit, ...(cursor ? { cursor } : {}) }, { queryPageSize: QUERY_PAGE_SIZE, ...options });
    pages.push(page.items);
    cursor = page.nextCursor ?? undefined;
    expect(pages.length).toBeLessThan(1000);
  } while (cursor);
  return pages;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (reason: unknown) => reason,
  );
}

function forgeCursor(payload: unknown): string {
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

function decodeCursorPayload(cursor: string): { v: number; k: Record<string, string> } {
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v: number; k: Record<string, string> };
}

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  admin = directClient();
  iam.createRole({
    name: 'cell-tenant-access',
    arn: TENANT_ROLE,
    // The real tenant access policy from core, on every test cell table.
    policies: [
      { name: 'tenant-items', document: tenantAccessPolicy({ tableArn: tableArn('test-cell-*'), bucketArn: 'arn:aws:s3:::test-cell-evidence' }) as unknown as PolicyDocument },
    ],
    trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
  });
  fencedEndpoint = createServer(createDynamoDbEndpoint({ iam, upstream: dynamo.url }));
  await new Promise<void>((resolve) => fencedEndpoint.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  for (const doc of clients) releaseDocumentClient(doc);
  if (fencedEndpoint) {
    fencedEndpoint.closeIdleConnections();
    await new Promise<void>((resolve, reject) => fencedEndpoint.close((error) => (error ? reject(error) : resolve())));
  }
  await dynamo?.close();
});

describe('readTenantItems / exportLines (export)', () => {
  it('pages through every item of t-1, registry and cell, with no gaps, no repeats and nothing of t-10', async () => {
    const world = await seededWorld();
    const sources = { registry: { doc: admin, tableName: world.registry }, cell: { doc: tenantClient('t-1'), tableName: world.cell } };

    const pages = await readAllPages(sources, 't-1', 7);

    const exported = pages.flat();
    expect(pages.length).toBeGreaterThan(10);
    for (const page of pages) expect(page.length).toBeLessThanOrEqual(7);
    const registryKeys = exported.filter(({ table }) => table === 'registry').map(({ item }) => keyText(item));
    const cellKeys = exported.filter(({ table }) => table === 'cell').map(({ item }) => keyText(item));
    expect(new Set([...registryKeys.map((k) => `r ${k}`), ...cellKeys.map((k) => `c ${k}`)]).size).toBe(exported.length);
    expect(registryKeys.sort()).toEqual(sortedKeys(await tenantItemsIn(world.registry, 't-1')));
    expect(cellKeys.sort()).toEqual(sortedKeys(await tenantItemsIn(world.cell, 't-1')));
    expect(exported.length).toBe(5 + cellItemsCount(T1_SHAPE));
  });

  it('keeps each page within its byte budget and still exports every item exactly once', async () => {
    const world = await seededWorld();
    const sources = { registry: { doc: admin, tableName: world.registry }, cell: { doc: admin, tableName: world.cell } };

    const pages = await readAllPages(sources, 't-1', 1000, { maxBytes: 1500 });

    for (const page of pages) {
      expect(page.length).toBeGreaterThan(0);
      if (page.length > 1) expect(Buffer.byteLength(exportLines(page))).toBeLessThanOrEqual(1500);
    }
    const all = pages.flat().map(({ table, item }) => `${table} ${keyText(item)}`);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(5 + cellItemsCount(T1_SHAPE));
  });

  it('writes one JSON object per line, with sets as sorted arrays', async () => {
    const world = await seededWorld();
    const { items } = await readTenantItems({ registry: { doc: admin, tableName: world.registry }, cell: { doc: admin, tableName: world.cell } }, 't-1', { limit: 1000 });

    const text = exportLines(items);

    expect(text.endsWith('\n')).toBe(true);
    const lines = text
      .slice(0, -1)
      .split('\n')
      .map((line) => JSON.parse(line) as { table: string; item: StoredItem });
    expect(lines).toHaveLength(items.length);
    expect(lines).toContainEqual({ table: 'registry', item: expect.objectContaining({ SK: 'TENANT', tenantId: 't-1', onboarding: { steps: expect.any(Object) } }) });
    expect(lines.at(-1)?.table).toBe('cell');
    const withSets = lines.find(({ item }) => item.labels !== undefined);
    expect(withSets?.item.labels).toEqual(['billing', 'escalated', 'vip']);
    expect(withSets?.item.watchers).toEqual([4, 30, 100]);
    const firstCase = lines.find(({ item }) => item.title === 'Case 0 of t-1');
    expect(firstCase?.item.description).toBe('Printer on fire — “again”\nsecond line');
  });

  it("refuses t-1's cursor when reading t-10 (InvalidCursor)", async () => {
    const world = await seededWorld();
    const sources = { registry: { doc: admin, tableName: world.registry }, cell: { doc: admin, tableName: world.cell } };
    // A cursor in each part of the walk: registry, counters, users, cases.
    const cursors: string[] = [];
    let cursor: string | undefined;
    do {
      const page: { nextCursor: string | null } = await readTenantItems(sources, 't-1', { limit: 3, ...(cursor ? { cursor } : {}) });
      cursor = page.nextCursor ?? undefined;
      if (cursor) cursors.push(cursor);
    } while (cursor);
    expect(new Set(cursors.map((c) => decodeCursorPayload(c).k.segment))).toEqual(new Set(['registry', 'meta', 'users', 'cases']));

    for (const t1Cursor of cursors) {
      expect(await rejection(readTenantItems(sources, 't-10', { cursor: t1Cursor }))).toBeInstanceOf(InvalidCursor);
    }
  });

  it('refuses a tampered cursor (InvalidCursor)', async () => {
    const world = await seededWorld();
    const sources = { registry: { doc: admin, tableName: world.registry }, cell: { doc: admin, tableName: world.cell } };
    let cursor = '';
    let inCases: { v: number; k: Record<string, string> } | undefined;
    while (!inCases) {
      const page: { nextCursor: string | null } = await readTenantItems(sources, 't-1', { limit: 20, ...(cursor ? { cursor } : {}) });
      if (!page.nextCursor) throw new Error('never reached the cases');
      cursor = page.nextCursor;
      if (decodeCursorPayload(cursor).k.segment === 'cases') inCases = decodeCursorPayload(cursor);
    }
    const t10Case = (await tenantItemsIn(world.cell, 't-10')).find((item) => isCaseItemKey('t-10', { PK: String(item.PK), SK: String(item.SK) }));

    const tampered = [
      `${cursor.slice(0, -2)}!!`,
      cursor.slice(0, 12),
      forgeCursor({ v: 1, k: { ...inCases.k, tenant: 't-10' } }),
      // Still "t-1", but pointing into t-10's case partition.
      forgeCursor({ v: 1, k: { ...inCases.k, partition: String(t10Case?.PK) } }),
      forgeCursor({ v: 1, k: { ...inCases.k, segment: 'everything' } }),
      forgeCursor({ v: 1, k: { ...inCases.k, partition: '' } }),
      forgeCursor({ v: 1, k: { ...inCases.k, extra: 'x' } }),
      forgeCursor({ v: 2, k: inCases.k }),
    ];
    for (const bad of tampered) {
      expect(await rejection(readTenantItems(sources, 't-1', { cursor: bad })), bad).toBeInstanceOf(InvalidCursor);
    }
    // A registry position is meaningless to a read of the cell alone.
    const registryCursor = forgeCursor({ v: 1, k: { tenant: 't-1', segment: 'registry', after: 'TENANT', partition: '', listing: '' } });
    expect(await rejection(readTenantItems({ cell: sources.cell }, 't-1', { cursor: registryCursor }))).toBeInstanceOf(InvalidCursor);
  });

  it("cannot be pointed at t-10's items by a client that only reaches t-1's keys", async () => {
    const world = await seededWorld();
    const t1Only = { cell: { doc: tenantClient('t-1'), tableName: world.cell } };

    const error = await rejection(readTenantItems(t1Only, 't-10', {}));

    expect((error as Error).name).toBe('AccessDeniedException');
  });
});

function cellItemsCount(shape: TenantShape): number {
  let notes = 0;
  for (let c = 0; c < shape.cases; c++) notes += shape.notesOfCase(c);
  return 1 + shape.users + shape.cases + notes;
}

describe('fingerprint', () => {
  const items: StoredItem[] = [
    { PK: 'TENANT#t-1#META', SK: 'COUNTERS', activeCases: 2 },
    { PK: 'TENANT#t-1#USERS', SK: 'USER#a', role: 'admin', profile: { name: 'A', langs: ['en', 'fr'] } },
    { PK: 'TENANT#t-1#CASE#1', SK: 'CASE', labels: new Set(['b', 'a']), watchers: new Set([3, 1]) },
  ];

  it('is the same for the same items in any order, and for sets whose members came back in another order', () => {
    const reordered: StoredItem[] = [
      { ...items[2], watchers: new Set([1, 3]), labels: new Set(['a', 'b']) },
      { role: 'admin', SK: 'USER#a', PK: 'TENANT#t-1#USERS', profile: { langs: ['en', 'fr'], name: 'A' } },
      items[0]!,
    ];

    expect(fingerprint(reordered)).toEqual(fingerprint(items));
    expect(fingerprint(items)).toEqual({ count: 3, checksum: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('changes when any attribute changes, however deeply nested, and when an item is missing', () => {
    const base = fingerprint(items);
    const variants: StoredItem[][] = [
      [items[0]!, items[1]!, { ...items[2], labels: new Set(['a', 'c']) }],
      [items[0]!, { ...items[1], profile: { name: 'A', langs: ['fr', 'en'] } }, items[2]!],
      [{ ...items[0], activeCases: '2' }, items[1]!, items[2]!],
      [{ ...items[0], extra: null }, items[1]!, items[2]!],
      [items[0]!, items[1]!],
    ];
    for (const variant of variants) expect(fingerprint(variant).checksum).not.toBe(base.checksum);
  });
});

describe('copyTenantCellItems', () => {
  it('copies every cell item of t-1, and nothing of t-10, so that both cells fingerprint the same', async () => {
    const world = await seededWorld();
    const target = await createTable('test-cell');
    const t1 = tenantClient('t-1');

    const copied = await copyTenantCellItems({ doc: t1, tableName: world.cell }, { doc: t1, tableName: target }, 't-1', { queryPageSize: QUERY_PAGE_SIZE });

    expect(copied.count).toBe(cellItemsCount(T1_SHAPE));
    expect(await fingerprintTenantCellItems({ doc: t1, tableName: target }, 't-1')).toEqual(copied);
    const inTarget = await scanAll(target);
    expect(inTarget.every((item) => belongsTo('t-1', item))).toBe(true);
    // Attribute for attribute, sets included.
    const bySortedKey = (a: StoredItem, b: StoredItem) => keyText(a).localeCompare(keyText(b));
    expect(inTarget.sort(bySortedKey)).toEqual((await tenantItemsIn(world.cell, 't-1')).sort(bySortedKey));
  });

  it('shows a difference in the copy in the fingerprint, and repairs it when run again', async () => {
    const world = await seededWorld();
    const target = await createTable('test-cell');
    const source: TableRef = { doc: admin, tableName: world.cell };
    const copy: TableRef = { doc: admin, tableName: target };
    const first = await copyTenantCellItems(source, copy, 't-1');
    const note = (await tenantItemsIn(target, 't-1')).find((item) => item.type === 'note');

    await admin.send(
      new UpdateCommand({ TableName: target, Key: { PK: note?.PK, SK: note?.SK }, UpdateExpression: 'SET body = :body', ExpressionAttributeValues: { ':body': 'tampered' } }),
    );
    const changed = await fingerprintTenantCellItems(copy, 't-1');
    const second = await copyTenantCellItems(source, copy, 't-1');
    const third = await copyTenantCellItems(source, copy, 't-1');

    expect(changed.count).toBe(first.count);
    expect(changed.checksum).not.toBe(first.checksum);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(await fingerprintTenantCellItems(copy, 't-1')).toEqual(first);
  });

  it('writes the items DynamoDB leaves unprocessed, retrying with backoff', async () => {
    const world = await seededWorld();
    const target = await createTable('test-cell');
    // Each call leaves half of its batch unprocessed.
    const batchSizes: number[] = [];
    const throttled = faultyClient((batch) => {
      batchSizes.push(batch.length);
      return { refuse: (_, index) => index >= Math.ceil(batch.length / 2) };
    });

    const copied = await copyTenantCellItems({ doc: admin, tableName: world.cell }, { doc: throttled, tableName: target }, 't-1', { retry: FAST_RETRY });

    expect(await fingerprintTenantCellItems({ doc: admin, tableName: target }, 't-1')).toEqual(copied);
    expect(Math.max(...batchSizes)).toBe(25);
    expect(batchSizes.length).toBeGreaterThan(Math.ceil(copied.count / 25));
  });

  it('gives up with an error when items stay unprocessed', async () => {
    const world = await seededWorld();
    const target = await createTable('test-cell');
    let calls = 0;
    const saturated = faultyClient(() => {
      calls += 1;
      return { refuse: () => true };
    });

    const error = await rejection(
      copyTenantCellItems({ doc: admin, tableName: world.cell }, { doc: saturated, tableName: target }, 't-1', { retry: { ...FAST_RETRY, maxAttempts: 3 } }),
    );

    expect((error as Error).message).toMatch(/unprocessed items after 3 attempts/);
    expect(calls).toBe(3);
  });

  it('finishes a copy that crashed half-way when run again, never leaving notes without their case', async () => {
    const world = await seededWorld();
    const target = await createTable('test-cell');
    const source: TableRef = { doc: admin, tableName: world.cell };
    // The worst moment: DynamoDB did not get to some case items, and the copy dies before retrying.
    const dying = faultyClient((_, call) => ({ crash: call > 4, refuse: (request) => request.PutRequest?.Item.SK === 'CASE' && call > 1 }));

    const crash = await rejection(copyTenantCellItems(source, { doc: dying, tableName: target }, 't-1', { queryPageSize: QUERY_PAGE_SIZE, retry: FAST_RETRY }));

    expect((crash as Error).message).toBe('simulated crash');
    const partial = await scanAll(target);
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(cellItemsCount(T1_SHAPE));
    expectEveryNoteHasItsCase(partial);

    const copied = await copyTenantCellItems(source, { doc: admin, tableName: target }, 't-1', { queryPageSize: QUERY_PAGE_SIZE });
    expect(await fingerprintTenantCellItems({ doc: admin, tableName: target }, 't-1')).toEqual(copied);
    expect(copied.count).toBe(cellItemsCount(T1_SHAPE));
  });

  it('refuses to copy a table onto itself', async () => {
    const world = await seededWorld();
    const cell: TableRef = { doc: admin, tableName: world.cell };
    await expect(copyTenantCellItems(cell, cell, 't-1')).rejects.toThrow(/onto itself/);
  });
});

describe('copyTenantCellItemsResumable', () => {
  it('copies in parts that each continue from the last checkpoint, and ends exactly where one pass ends', async () => {
    const world = await seededWorld();
    const target = await createTable('test-cell');
    const t1 = tenantClient('t-1');
    const source: TableRef = { doc: t1, tableName: world.cell };
    const copy: TableRef = { doc: t1, tableName: target };

    const parts: CopyCheckpoint[] = [];
    let checkpoint: CopyCheckpoint | undefined;
    do {
      // Pause at every chance: after each batch of 25 items.
      checkpoint = await copyTenantCellItemsResumable(source, copy, 't-1', {
        queryPageSize: QUERY_PAGE_SIZE,
        ...(checkpoint ? { from: checkpoint } : {}),
        pauseWhen: () => true,
      });
      parts.push(checkpoint);
      // Between parts, the target holds exactly what the checkpoint fingerprints, and no note without its case.
      const inTarget = await tenantItemsIn(target, 't-1');
      expect(fingerprint(inTarget)).toEqual(checkpoint.read);
      expectEveryNoteHasItsCase(inTarget);
    } while (checkpoint.cursor !== null && parts.length < 100);

    expect(parts.length).toBe(Math.ceil(cellItemsCount(T1_SHAPE) / 25) + (cellItemsCount(T1_SHAPE) % 25 === 0 ? 1 : 0));
    expect(parts.map((part) => part.read.count)).toEqual([...parts.map((part) => part.read.count)].sort((a, b) => a - b));
    const whole = await copyTenantCellItems({ doc: admin, tableName: world.cell }, { doc: admin, tableName: await createTable('test-cell') }, 't-1');
    expect(checkpoint.read).toEqual(whole);
    expect(await fingerprintTenantCellItems(copy, 't-1')).toEqual(whole);
    expect((await scanAll(target)).every((item) => belongsTo('t-1', item))).toBe(true);
    // Asking a finished copy to continue copies nothing more.
    expect(await copyTenantCellItemsResumable(source, copy, 't-1', { from: checkpoint })).toBe(checkpoint);
  });

  it('repeats at most the part after the last checkpoint when a copy crashes, and counts each item once', async () => {
    const world = await seededWorld();
    const target = await createTable('test-cell');
    const source: TableRef = { doc: admin, tableName: world.cell };
    let parts = 0;
    const first = await copyTenantCellItemsResumable(source, { doc: admin, tableName: target }, 't-1', { queryPageSize: QUERY_PAGE_SIZE, pauseWhen: () => ++parts >= 2 });
    expect(first.cursor).not.toBeNull();

    // The next part dies on its second batch: some of its items are written, the checkpoint does not know them.
    const dying = faultyClient((_, call) => ({ crash: call >= 2 }));
    await expect(copyTenantCellItemsResumable(source, { doc: dying, tableName: target }, 't-1', { queryPageSize: QUERY_PAGE_SIZE, from: first })).rejects.toThrow(
      'simulated crash',
    );
    expect((await tenantItemsIn(target, 't-1')).length).toBeGreaterThan(first.read.count);

    const rest = await copyTenantCellItemsResumable(source, { doc: admin, tableName: target }, 't-1', { queryPageSize: QUERY_PAGE_SIZE, from: first });
    expect(rest.cursor).toBeNull();
    expect(rest.read.count).toBe(cellItemsCount(T1_SHAPE));
    expect(await fingerprintTenantCellItems({ doc: admin, tableName: target }, 't-1')).toEqual(rest.read);
  });

  it("refuses to continue from another tenant's checkpoint or a tampered one", async () => {
    const world = await seededWorld();
    const target = await createTable('test-cell');
    const source: TableRef = { doc: admin, tableName: world.cell };
    const t1 = await copyTenantCellItemsResumable(source, { doc: admin, tableName: target }, 't-1', { queryPageSize: QUERY_PAGE_SIZE, pauseWhen: () => true });
    expect(t1.cursor).not.toBeNull();
    await expect(copyTenantCellItemsResumable(source, { doc: admin, tableName: target }, 't-10', { from: t1 })).rejects.toBeInstanceOf(InvalidCursor);
    await expect(copyTenantCellItemsResumable(source, { doc: admin, tableName: target }, 't-1', { from: { ...t1, cursor: `${t1.cursor}x` } })).rejects.toBeInstanceOf(
      InvalidCursor,
    );
    await expect(copyTenantCellItemsResumable(source, { doc: admin, tableName: target }, 't-1', { from: { ...t1, read: { count: -1, checksum: 'zz' } } })).rejects.toThrow(
      /malformed fingerprint/,
    );
    // Nothing of t-10 was written by the refused attempts.
    expect((await scanAll(target)).every((item) => belongsTo('t-1', item))).toBe(true);
  });
});

/** Every note in `items` still has its case item: GSI1 can lead a later purge to it. */
function expectEveryNoteHasItsCase(items: StoredItem[]): void {
  const cases = new Set(items.filter((item) => item.SK === 'CASE').map((item) => item.PK));
  for (const note of items.filter((item) => item.type === 'note')) expect(cases.has(note.PK), keyText(note)).toBe(true);
}

describe('purgeTenantCellItems', () => {
  it('deletes every item of t-1 and leaves every item of t-10 as it was', async () => {
    const world = await seededWorld();
    const t10Before = await tenantItemsIn(world.cell, 't-10');
    const registryBefore = await scanAll(world.registry);

    const result = await purgeTenantCellItems({ doc: tenantClient('t-1'), tableName: world.cell }, 't-1', { queryPageSize: QUERY_PAGE_SIZE });

    expect(result).toEqual({ deleted: cellItemsCount(T1_SHAPE), remaining: 0 });
    expect(await tenantItemsIn(world.cell, 't-1')).toEqual([]);
    expect(await tenantItemsIn(world.cell, 't-10')).toEqual(t10Before);
    expect(await scanAll(world.registry)).toEqual(registryBefore);
    expect(await iterateTenantItems({ cell: { doc: admin, tableName: world.cell } }, 't-1').next()).toEqual({ done: true, value: undefined });
  });

  const isNoteDelete = (request: WriteRequest) => String(request.DeleteRequest?.Key.SK).startsWith('NOTE#');
  const isCaseDelete = (request: WriteRequest) => request.DeleteRequest?.Key.SK === 'CASE';
  const crashes: [string, () => (batch: WriteRequest[], call: number) => Fault][] = [
    [
      'DynamoDB did not get to some note deletes, and the purge dies before retrying',
      () => (_, call) => ({ crash: call > 4, refuse: (request) => isNoteDelete(request) && call > 1 }),
    ],
    [
      'the purge dies right after its first batch of case deletes',
      () => {
        let casesDeleted = false;
        return (batch) => {
          const crash = casesDeleted;
          casesDeleted ||= batch.some(isCaseDelete);
          return { crash };
        };
      },
    ],
  ];

  it.each(crashes)('finishes a purge that crashed half-way when run again (%s)', async (_, fault) => {
    const world = await seededWorld();
    const t10Before = await tenantItemsIn(world.cell, 't-10');
    const dying = faultyClient(fault());

    const crash = await rejection(purgeTenantCellItems({ doc: dying, tableName: world.cell }, 't-1', { queryPageSize: QUERY_PAGE_SIZE, retry: FAST_RETRY }));

    expect((crash as Error).message).toBe('simulated crash');
    const left = await tenantItemsIn(world.cell, 't-1');
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(cellItemsCount(T1_SHAPE));
    expectEveryNoteHasItsCase(left);
    expect(left.some((item) => item.PK === tenantMetaKey('t-1').PK)).toBe(true);

    const result = await purgeTenantCellItems({ doc: admin, tableName: world.cell }, 't-1', { queryPageSize: QUERY_PAGE_SIZE });

    expect(result.remaining).toBe(0);
    expect(await tenantItemsIn(world.cell, 't-1')).toEqual([]);
    expect(await tenantItemsIn(world.cell, 't-10')).toEqual(t10Before);
  });
});

describe('an entry t-10 planted in t-1’s case listing (index key injection)', () => {
  it('is left out of t-1’s export, copy and purge, which succeed, and t-10’s item stays as it was', async () => {
    const world = await seededWorld();
    const plantedKey = caseKey('t-10', newId());
    // t-10's own session may write it: the fence checks the partition key, never the index key.
    await tenantClient('t-10').send(
      new UpdateCommand({
        TableName: world.cell,
        Key: plantedKey,
        UpdateExpression: 'SET GSI1PK = :pk, GSI1SK = :sk, title = :title',
        ExpressionAttributeValues: { ':pk': caseListingPartition('t-1'), ':sk': 'S1#0000', ':title': 'phish' },
      }),
    );
    const cell = { doc: tenantClient('t-1'), tableName: world.cell };
    const exported = (await readAllPages({ cell }, 't-1', 10)).flat();
    expect(exported.every(({ item }) => belongsTo('t-1', item))).toBe(true);
    const target = await createTable('test-cell');
    await copyTenantCellItems(cell, { doc: tenantClient('t-1'), tableName: target }, 't-1', { queryPageSize: QUERY_PAGE_SIZE });
    expect((await scanAll(target)).every((item) => belongsTo('t-1', item))).toBe(true);
    expect((await purgeTenantCellItems(cell, 't-1', { queryPageSize: QUERY_PAGE_SIZE })).remaining).toBe(0);
    expect(sortedKeys(await tenantItemsIn(world.cell, 't-10'))).toContain(keyText(plantedKey as unknown as StoredItem));
  });
});
