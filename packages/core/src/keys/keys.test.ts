import { describe, expect, it } from 'vitest';
import type { CaseStatus } from '../cases/case-status.js';
import {
  assertTenantId,
  cellAuditKey,
  cellPartition,
  cellRecordKey,
  caseIdOfPartition,
  caseKey,
  caseListingKey,
  caseListingPartition,
  caseListingStatusPrefix,
  caseObjectPrefix,
  casePartition,
  evidenceObjectKey,
  exportObjectKey,
  isCaseItemKey,
  isTenantId,
  isUlid,
  noteKey,
  tenantMetaKey,
  tenantMetaPartition,
  tenantObjectPrefix,
  tenantOfObjectKey,
  tenantPartitionPrefix,
  tenantRecordKey,
  tenantRegistryPartition,
  tenantUserKey,
  tenantUsersPartition,
} from './keys.js';

const CASE_ID = '01HZY3J5V8K2M4N6P8Q0R2S4T6';
const NOTE_ID = '01HZY3K0A1B2C3D4E5F6G7H8J9';
const CREATED_AT = '2025-03-01T10:00:00.000Z';

describe('case keys', () => {
  it('formats a case as TENANT#<id>#CASE#<ulid> / CASE', () => {
    expect(caseKey('acme-x1', CASE_ID)).toEqual({ PK: `TENANT#acme-x1#CASE#${CASE_ID}`, SK: 'CASE' });
  });

  it('stores a note in its case partition under NOTE#<ulid>', () => {
    expect(noteKey('acme-x1', CASE_ID, NOTE_ID)).toEqual({ PK: `TENANT#acme-x1#CASE#${CASE_ID}`, SK: `NOTE#${NOTE_ID}` });
  });

  it('keeps a case and its notes in one partition so one Query reads them together', () => {
    expect(noteKey('acme-x1', CASE_ID, NOTE_ID).PK).toBe(caseKey('acme-x1', CASE_ID).PK);
  });
});

describe('case listing keys (GSI1)', () => {
  it('puts every case of a tenant in the TENANT#<id>#CASES partition', () => {
    expect(caseListingPartition('acme-x1')).toBe('TENANT#acme-x1#CASES');
    expect(caseListingKey('acme-x1', 'OPEN', CREATED_AT, CASE_ID)).toEqual({
      GSI1PK: 'TENANT#acme-x1#CASES',
      GSI1SK: `S1#${CREATED_AT}#${CASE_ID}`,
    });
  });

  it('ranks statuses OPEN < IN_PROGRESS < RESOLVED < CLOSED in the sort key prefix', () => {
    expect(caseListingStatusPrefix('OPEN')).toBe('S1#');
    expect(caseListingStatusPrefix('IN_PROGRESS')).toBe('S2#');
    expect(caseListingStatusPrefix('RESOLVED')).toBe('S3#');
    expect(caseListingStatusPrefix('CLOSED')).toBe('S4#');
  });

  it('lists open work first and, within a status, older cases before newer ones', () => {
    const ids = ['01HZY3J5V8K2M4N6P8Q0R2S4T1', '01HZY3J5V8K2M4N6P8Q0R2S4T2', '01HZY3J5V8K2M4N6P8Q0R2S4T3'];
    const rows: Array<{ label: string; status: CaseStatus; createdAt: string; id: string }> = [
      { label: 'closed-old', status: 'CLOSED', createdAt: '2024-01-01T00:00:00.000Z', id: ids[0]! },
      { label: 'open-new', status: 'OPEN', createdAt: '2025-06-01T00:00:00.000Z', id: ids[1]! },
      { label: 'resolved', status: 'RESOLVED', createdAt: '2024-05-01T00:00:00.000Z', id: ids[2]! },
      { label: 'open-old', status: 'OPEN', createdAt: '2024-02-01T00:00:00.000Z', id: ids[0]! },
      { label: 'in-progress', status: 'IN_PROGRESS', createdAt: '2023-01-01T00:00:00.000Z', id: ids[1]! },
      { label: 'open-same-time-later-id', status: 'OPEN', createdAt: '2024-02-01T00:00:00.000Z', id: ids[2]! },
    ];
    // DynamoDB orders string sort keys by UTF-8 bytes; for these ASCII keys that is plain code-unit order.
    const ordered = rows
      .map((row) => ({ label: row.label, sk: caseListingKey('acme-x1', row.status, row.createdAt, row.id).GSI1SK }))
      .sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0))
      .map((row) => row.label);
    expect(ordered).toEqual(['open-old', 'open-same-time-later-id', 'open-new', 'in-progress', 'resolved', 'closed-old']);
  });
});

describe('tenant meta and user keys', () => {
  it('keeps per-tenant counters under TENANT#<id>#META', () => {
    expect(tenantMetaKey('acme-x1')).toEqual({ PK: 'TENANT#acme-x1#META', SK: 'COUNTERS' });
  });

  it('keeps users under TENANT#<id>#USERS with a case-insensitive USER#<name> sort key', () => {
    expect(tenantUsersPartition('acme-x1')).toBe('TENANT#acme-x1#USERS');
    expect(tenantUserKey('acme-x1', 'Alice@Example.com')).toEqual({ PK: 'TENANT#acme-x1#USERS', SK: 'USER#alice@example.com' });
    expect(tenantUserKey('acme-x1', 'ALICE@example.com')).toEqual(tenantUserKey('acme-x1', 'alice@EXAMPLE.com'));
  });

  it('keys the registry record by TENANT#<id> itself', () => {
    expect(tenantPartitionPrefix('acme-x1')).toBe('TENANT#acme-x1');
    expect(tenantRecordKey('acme-x1')).toEqual({ PK: 'TENANT#acme-x1', SK: 'TENANT' });
  });
});

const MALFORMED_TENANT_IDS: ReadonlyArray<readonly [string, unknown]> = [
  ['uppercase', 'Acme'],
  ['a `*` wildcard', 't*'],
  ['a lone `*`', '*'],
  ['a `?` wildcard', 't-?'],
  ['a `#` delimiter', 't-1#CASE'],
  ['empty', ''],
  ['41 characters', 'a'.repeat(41)],
  ['a leading hyphen', '-t1'],
  ['a trailing hyphen', 't1-'],
  ['a space', 't 1'],
  ['an underscore', 't_1'],
  ['a non-ASCII letter', 'té'],
  ['not a string', 42],
  ['undefined', undefined],
];

// Every function that puts a tenant id in a key string must refuse a malformed one.
const TENANT_KEY_BUILDERS: ReadonlyArray<readonly [string, (tenantId: string) => unknown]> = [
  ['tenantPartitionPrefix', (t) => tenantPartitionPrefix(t)],
  ['caseKey', (t) => caseKey(t, CASE_ID)],
  ['noteKey', (t) => noteKey(t, CASE_ID, NOTE_ID)],
  ['caseListingPartition', (t) => caseListingPartition(t)],
  ['caseListingKey', (t) => caseListingKey(t, 'OPEN', CREATED_AT, CASE_ID)],
  ['tenantMetaKey', (t) => tenantMetaKey(t)],
  ['tenantUsersPartition', (t) => tenantUsersPartition(t)],
  ['tenantUserKey', (t) => tenantUserKey(t, 'alice@example.com')],
  ['tenantRecordKey', (t) => tenantRecordKey(t)],
];

describe('tenant id rule', () => {
  it('accepts control-plane style ids: lowercase letters, digits and inner hyphens, up to 40 characters', () => {
    for (const id of ['t', 't-1', 'acme-corp-k3j9x0', '0', 'a'.repeat(40), 'a--b']) expect(isTenantId(id)).toBe(true);
  });

  it.each(MALFORMED_TENANT_IDS)('rejects a tenant id with %s', (_label, id) => {
    expect(isTenantId(id)).toBe(false);
    expect(() => assertTenantId(id)).toThrow(/malformed tenant id/);
  });

  it.each(TENANT_KEY_BUILDERS)('%s refuses every malformed tenant id instead of formatting a key', (_name, build) => {
    for (const [, id] of MALFORMED_TENANT_IDS) {
      expect(() => build(id as string), `tenant id ${JSON.stringify(id)}`).toThrow(/malformed tenant id/);
    }
  });
});

describe('ULID rule', () => {
  const MALFORMED_ULIDS: ReadonlyArray<readonly [string, string]> = [
    ['25 characters', CASE_ID.slice(1)],
    ['27 characters', `${CASE_ID}0`],
    ['lowercase (one case must not have two spellings of its key)', CASE_ID.toLowerCase()],
    ['the excluded letter I', `${CASE_ID.slice(0, 25)}I`],
    ['the excluded letter L', `${CASE_ID.slice(0, 25)}L`],
    ['the excluded letter O', `${CASE_ID.slice(0, 25)}O`],
    ['the excluded letter U', `${CASE_ID.slice(0, 25)}U`],
    ['a `#` that would forge a sort key', `${CASE_ID.slice(0, 25)}#`],
    ['a `*`', `${CASE_ID.slice(0, 25)}*`],
    ['empty', ''],
  ];

  it('accepts a canonical ULID', () => {
    expect(isUlid(CASE_ID)).toBe(true);
  });

  it.each(MALFORMED_ULIDS)('refuses a case id with %s', (_label, id) => {
    expect(isUlid(id)).toBe(false);
    expect(() => caseKey('acme-x1', id)).toThrow(/malformed case id/);
    expect(() => noteKey('acme-x1', id, NOTE_ID)).toThrow(/malformed case id/);
    expect(() => caseListingKey('acme-x1', 'OPEN', CREATED_AT, id)).toThrow(/malformed case id/);
  });

  it.each(MALFORMED_ULIDS)('refuses a note id with %s', (_label, id) => {
    expect(() => noteKey('acme-x1', CASE_ID, id)).toThrow(/malformed note id/);
  });
});

/** IAM StringLike with only `*` wildcards, as the tenant access policy uses it. */
function stringLike(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(value);
}

/** The two LeadingKeys patterns of the tenant access policy, with the principal tag substituted. */
function policyAllows(tenantId: string, leadingKey: string): boolean {
  return [`TENANT#${tenantId}`, `TENANT#${tenantId}#*`].some((pattern) => stringLike(pattern, leadingKey));
}

/** Every partition key (LeadingKeys value) a tenant's data-plane request can carry. */
function leadingKeysOf(tenantId: string): string[] {
  return [
    tenantPartitionPrefix(tenantId),
    caseKey(tenantId, CASE_ID).PK,
    noteKey(tenantId, CASE_ID, NOTE_ID).PK,
    caseListingPartition(tenantId),
    caseListingKey(tenantId, 'CLOSED', CREATED_AT, CASE_ID).GSI1PK,
    tenantMetaKey(tenantId).PK,
    tenantUsersPartition(tenantId),
    tenantUserKey(tenantId, 'bob@example.com').PK,
    tenantRecordKey(tenantId).PK,
  ];
}

describe('tenant partition fence', () => {
  it("matches every one of t-1's own keys under t-1's LeadingKeys patterns", () => {
    for (const key of leadingKeysOf('t-1')) expect(policyAllows('t-1', key), key).toBe(true);
  });

  it.each(['t-10', 't-1-a', 't-12', 't-1a'])("never lets a key of %s match t-1's patterns", (other) => {
    for (const key of leadingKeysOf(other)) expect(policyAllows('t-1', key), key).toBe(false);
  });

  it("never lets a key of t-1 match t-10's patterns either", () => {
    for (const key of leadingKeysOf('t-1')) expect(policyAllows('t-10', key), key).toBe(false);
  });

  it('would leak t-10 to t-1 if the delimiter were dropped (the check above is meaningful)', () => {
    const loosened = (tenantId: string, key: string) => stringLike(`TENANT#${tenantId}*`, key);
    expect(leadingKeysOf('t-10').some((key) => loosened('t-1', key))).toBe(true);
  });
});

describe('tenant partitions (export, move, purge)', () => {
  it('names the registry, counters and case partitions with the same formats the items use', () => {
    expect(tenantRegistryPartition('acme-x1')).toBe(tenantRecordKey('acme-x1').PK);
    expect(tenantMetaPartition('acme-x1')).toBe(tenantMetaKey('acme-x1').PK);
    expect(casePartition('acme-x1', CASE_ID)).toBe(`TENANT#acme-x1#CASE#${CASE_ID}`);
  });

  it('sorts the case item before its notes, so a partition Query reads the case first', () => {
    expect(caseKey('acme-x1', CASE_ID).SK < noteKey('acme-x1', CASE_ID, NOTE_ID).SK).toBe(true);
  });

  it("recognizes t-1's case partitions and nothing else — not t-10's", () => {
    expect(caseIdOfPartition('t-1', casePartition('t-1', CASE_ID))).toBe(CASE_ID);
    expect(caseIdOfPartition('t-1', casePartition('t-10', CASE_ID))).toBeUndefined();
    expect(caseIdOfPartition('t-10', casePartition('t-1', CASE_ID))).toBeUndefined();
    expect(caseIdOfPartition('t-1', tenantMetaPartition('t-1'))).toBeUndefined();
    expect(caseIdOfPartition('t-1', `${casePartition('t-1', CASE_ID)}#X`)).toBeUndefined();
    expect(caseIdOfPartition('t-1', 'TENANT#t-1#CASE#not-a-ulid')).toBeUndefined();
  });

  it('tells the case item from its notes', () => {
    expect(isCaseItemKey('t-1', caseKey('t-1', CASE_ID))).toBe(true);
    expect(isCaseItemKey('t-1', noteKey('t-1', CASE_ID, NOTE_ID))).toBe(false);
    expect(isCaseItemKey('t-10', caseKey('t-1', CASE_ID))).toBe(false);
    expect(isCaseItemKey('t-1', tenantMetaKey('t-1'))).toBe(false);
  });
});

describe('cell keys', () => {
  const auditId = '01J8Z3K4M5N6P7Q8R9S0T1V2W3';

  it("keeps a cell's catalog entry and its audit trail in the cell's partition", () => {
    expect(cellRecordKey('cell-1')).toEqual({ PK: 'CELL#cell-1', SK: 'CELL' });
    expect(cellAuditKey('cell-1', auditId)).toEqual({ PK: 'CELL#cell-1', SK: `AUDIT#${auditId}` });
    expect(cellPartition('cell-d1')).toBe('CELL#cell-d1');
  });

  it('refuses malformed cell ids and audit ids rather than building a key', () => {
    for (const cellId of ['', 'Cell-1', 'cell#1', 'cell-1#AUDIT', '-cell', 'a'.repeat(40)]) {
      expect(() => cellPartition(cellId), cellId).toThrow();
      expect(() => cellRecordKey(cellId), cellId).toThrow();
    }
    expect(() => cellAuditKey('cell-1', 'not-a-ulid')).toThrow();
  });
});

describe('S3 object keys (DESIGN §11)', () => {
  const EVIDENCE_ID = '01HZY3M1B2C3D4E5F6G7H8J9KA';
  const EXPORT_ID = '01HZY3N1B2C3D4E5F6G7H8J9KB';

  it('puts every object of a tenant under tenant=<id>/, slash included', () => {
    expect(tenantObjectPrefix('acme-x1')).toBe('tenant=acme-x1/');
  });

  it('formats evidence as tenant=<t>/case=<c>/evidence=<id>', () => {
    expect(evidenceObjectKey('acme-x1', CASE_ID, EVIDENCE_ID)).toBe(`tenant=acme-x1/case=${CASE_ID}/evidence=${EVIDENCE_ID}`);
    expect(caseObjectPrefix('acme-x1', CASE_ID)).toBe(`tenant=acme-x1/case=${CASE_ID}/`);
    expect(evidenceObjectKey('acme-x1', CASE_ID, EVIDENCE_ID).startsWith(caseObjectPrefix('acme-x1', CASE_ID))).toBe(true);
  });

  it('formats an export archive as tenant=<t>/export=<id>/cellbook-export.zip', () => {
    expect(exportObjectKey('acme-x1', EXPORT_ID)).toBe(`tenant=acme-x1/export=${EXPORT_ID}/cellbook-export.zip`);
  });

  it("keeps t-1's prefix from covering any key of t-10", () => {
    const t10Keys = [tenantObjectPrefix('t-10'), evidenceObjectKey('t-10', CASE_ID, EVIDENCE_ID), exportObjectKey('t-10', EXPORT_ID)];
    for (const key of t10Keys) expect(key.startsWith(tenantObjectPrefix('t-1'))).toBe(false);
    expect(evidenceObjectKey('t-1', CASE_ID, EVIDENCE_ID).startsWith(tenantObjectPrefix('t-1'))).toBe(true);
  });

  it('names the tenant an object key belongs to, and no tenant for a key outside every prefix', () => {
    expect(tenantOfObjectKey(evidenceObjectKey('t-10', CASE_ID, EVIDENCE_ID))).toBe('t-10');
    expect(tenantOfObjectKey(exportObjectKey('t-1', EXPORT_ID))).toBe('t-1');
    for (const key of ['t-1/evidence', 'tenant=t-1', 'tenant=/x', 'tenant=T-1/x', 'tenant=t*/x', 'x/tenant=t-1/y']) expect(tenantOfObjectKey(key)).toBeUndefined();
  });

  it('refuses to build a key from a malformed tenant, case, evidence or export id', () => {
    expect(() => tenantObjectPrefix('t-1/../t-10')).toThrow();
    expect(() => tenantObjectPrefix('t-*')).toThrow();
    expect(() => evidenceObjectKey('t-1', CASE_ID, '../x')).toThrow();
    expect(() => evidenceObjectKey('t-1', 'x/y', EVIDENCE_ID)).toThrow();
    expect(() => exportObjectKey('t-1', 'x')).toThrow();
  });
});
