/**
 * Index key injection (issue 12, item 5), over real HTTP.
 *
 * The LeadingKeys fence judges a write by its partition key only, so tenant A's own session may
 * write an item in A's partition whose `GSI1PK` names tenant B's case listing. B's listing, reads,
 * export, move and offboarding must all behave as if that entry did not exist, and A's item must
 * stay A's.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as Keys from '@cellbook/core/keys/keys';
import { documentClient } from '@cellbook/core/shared/dynamo';
import { newId } from '@cellbook/core/shared/ids';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';
import { onboardNeighbours } from './neighbours.fixture.js';

interface ExportLine {
  table: 'registry' | 'cell';
  item: Record<string, unknown> & { PK: string; SK: string };
}

let env: TestPlatform;
/** The attacker. */
let alice: TestTenant;
/** The victim, in alice's cell. */
let bob: TestTenant;
let bobCaseIds: string[];
let aliceCaseId: string;
let plantedId: string;
let tableName: string;
/** A client with alice's own tenant-scoped session for the cell's table: what a leaked session holds. */
let aliceDb: DynamoDBDocumentClient;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  env = await bootTestPlatform();
  ({ alice, bob } = await onboardNeighbours(env, 'standard'));
  bobCaseIds = [];
  const bobCases: { caseId: string; createdAt: string }[] = [];
  for (let i = 0; i < 3; i++) {
    const created = await bob.call('POST', '/cases', { body: { title: `Bob case ${i}`, priority: 'medium' } });
    expect(created.status).toBe(201);
    bobCaseIds.push(created.body.caseId);
    bobCases.push(created.body);
  }
  const own = await alice.call('POST', '/cases', { body: { title: 'Alice’s own case', priority: 'low' } });
  expect(own.status).toBe(201);
  aliceCaseId = own.body.caseId;

  const cell = env.platform.cells.find((candidate) => candidate.cellId === alice.cellId)!;
  tableName = cell.tableName;
  const session = env.platform.iam.issueRoleSession(cell.roles.tenantAccess, `tenant-${alice.tenantId}`, { TenantId: alice.tenantId });
  aliceDb = documentClient({ region: env.platform.region, endpoint: env.platform.endpoints.dynamodb, credentials: sdkCredentials(session), maxAttempts: 1 });

  // The plant: in alice's own partition, a case-like item listed under bob's listing partition,
  // sorting between bob's first and later cases, and claiming to be bob's.
  plantedId = newId();
  const createdAt = bobCases[0]!.createdAt;
  await aliceDb.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        ...Keys.caseKey(alice.tenantId, plantedId),
        GSI1PK: Keys.caseListingPartition(bob.tenantId),
        GSI1SK: `S1#${createdAt}#${plantedId}`,
        type: 'case',
        tenantId: bob.tenantId,
        caseId: plantedId,
        title: 'Planted by alice: reset your password here',
        description: 'phish',
        priority: 'high',
        status: 'OPEN',
        assignee: null,
        createdAt,
        updatedAt: createdAt,
        createdBy: 'attacker@example.com',
        version: 1,
      },
    }),
  );
});
afterAll(() => env?.stop());

async function readPlanted() {
  return (await aliceDb.send(new GetCommand({ TableName: tableName, Key: Keys.caseKey(alice.tenantId, plantedId) }))).Item;
}

async function listAll(tenant: TestTenant, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await tenant.call('GET', `/cases?${query}`);
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    expect(page.body.items.length).toBeLessThanOrEqual(limit);
    ids.push(...page.body.items.map((item: { caseId: string }) => item.caseId));
    cursor = page.body.nextCursor;
    expect(++pages).toBeLessThan(20);
  } while (cursor);
  return ids;
}

async function exportAll(tenantId: string, limit: number): Promise<ExportLine[]> {
  const lines: ExportLine[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const response = await env.call('GET', `/admin/tenants/${tenantId}/export?${query}`, { token: env.operatorToken });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    // A page of one line is valid JSON, so the client hands it over parsed.
    const body = response.body as unknown as string | ExportLine | null;
    if (typeof body === 'string')
      lines.push(
        ...body
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as ExportLine),
      );
    else if (body) lines.push(body);
    expect(lines.length).toBeGreaterThan(0);
    cursor = response.headers.get('x-next-cursor');
  } while (cursor);
  return lines;
}

describe('an entry tenant A plants in tenant B’s case listing with A’s own session (index key injection)', () => {
  it('is accepted by the partition-key fence (the positive control), while a write in B’s partition is refused', async () => {
    expect(await readPlanted()).toMatchObject({ GSI1PK: Keys.caseListingPartition(bob.tenantId), caseId: plantedId });
    await expect(aliceDb.send(new PutCommand({ TableName: tableName, Item: { ...Keys.caseKey(bob.tenantId, newId()), title: 'direct' } }))).rejects.toThrow(
      /AccessDenied|not authorized/i,
    );
  });

  it('never shows in B’s listing: one full page, and limit=1 paging through every page, give exactly B’s 3 cases', async () => {
    const full = await bob.call('GET', '/cases');
    expect(full.status).toBe(200);
    expect(full.body.items.map((item: { caseId: string }) => item.caseId).sort()).toEqual([...bobCaseIds].sort());
    expect(JSON.stringify(full.body)).not.toContain('Planted');
    const paged = await listAll(bob, 1);
    expect(paged.sort()).toEqual([...bobCaseIds].sort());
    expect((await listAll(bob, 2)).sort()).toEqual([...bobCaseIds].sort());
  });

  it('is not B’s case by id: 404', async () => {
    const response = await bob.call('GET', `/cases/${plantedId}`);
    expect([response.status, response.body.error.code]).toEqual([404, 'CASE_NOT_FOUND']);
  });

  it('is left out of B’s export, which answers 200 with none of A’s items', async () => {
    const lines = await exportAll(bob.tenantId, 2);
    expect(lines.filter((line) => line.table === 'cell').length).toBeGreaterThanOrEqual(3);
    const alicePrefix = `TENANT#${alice.tenantId}`;
    expect(lines.filter((line) => line.item.PK.startsWith(alicePrefix))).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain(plantedId);
  });

  it('does not stop B’s move to another cell, nor travel with it', async () => {
    const to = bob.cellId === 'cell-1' ? 'cell-2' : 'cell-1';
    const started = await env.call('POST', `/admin/tenants/${bob.tenantId}/move`, { token: env.operatorToken, body: { cellId: to, reason: 'rebalancing' } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const deadline = Date.now() + 30_000;
    let moved: { cellId: string; move?: { state: string } };
    for (;;) {
      moved = (await env.call('GET', `/admin/tenants/${bob.tenantId}`, { token: env.operatorToken })).body;
      if (moved.move?.state === 'DONE' || moved.move?.state === 'FAILED') break;
      if (Date.now() > deadline) throw new Error(`move still ${moved.move?.state}`);
      await sleep(50);
    }
    expect(moved).toMatchObject({ cellId: to, move: { state: 'DONE' } });
    const cases = await bob.call('GET', '/cases');
    expect(cases.headers.get('x-cellbook-cell')).toBe(to);
    expect(cases.body.items.map((item: { caseId: string }) => item.caseId).sort()).toEqual([...bobCaseIds].sort());
    expect(await readPlanted()).toMatchObject({ caseId: plantedId });
  });

  it('does not stop B’s offboarding, and A’s item and A’s listing survive it', async () => {
    const suspended = await env.call('POST', `/admin/tenants/${bob.tenantId}/suspend`, { token: env.operatorToken, body: { reason: 'contract ended' } });
    expect(suspended.status).toBe(200);
    const offboarded = await env.call('DELETE', `/admin/tenants/${bob.tenantId}`, { token: env.operatorToken, body: { reason: 'contract ended' } });
    expect(offboarded.status, JSON.stringify(offboarded.body)).toBe(200);
    expect(await readPlanted()).toMatchObject({ caseId: plantedId, title: 'Planted by alice: reset your password here' });
    const aliceList = await alice.call('GET', '/cases');
    expect(aliceList.status).toBe(200);
    expect(aliceList.body.items.map((item: { caseId: string }) => item.caseId)).toEqual([aliceCaseId]);
  });
});
