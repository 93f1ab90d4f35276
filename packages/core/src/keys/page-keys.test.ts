import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_SORT_PREFIX,
  NOTE_SORT_PREFIX,
  caseKey,
  caseListingKey,
  caseOfListingPageKey,
  isUlidSortKey,
  tenantListingKey,
  tenantOfListingPageKey,
  tenantRecordKey,
} from './keys.js';

const CASE_ID = '01HZY3J5V8K2M4N6P8Q0R2S4T6';
const OTHER_CASE_ID = '01HZY3J5V8K2M4N6P8Q0R2S4T7';
const CREATED_AT = '2025-03-01T10:00:00.000Z';

/** The page key the case listing of t-1 issues for a case in `status`. */
function casePageKey(status: 'OPEN' | 'CLOSED' = 'OPEN'): Record<string, string> {
  return { ...caseKey('t-1', CASE_ID), ...caseListingKey('t-1', status, CREATED_AT, CASE_ID) };
}

/** The page key the registry's listing of all tenants issues for tenant t-1. */
function tenantPageKey(): Record<string, string> {
  return { ...tenantRecordKey('t-1'), ...tenantListingKey('t-1', CREATED_AT) };
}

describe('caseOfListingPageKey', () => {
  it('recognises a key the case listing issues, filtered by its status or not', () => {
    expect(caseOfListingPageKey('t-1', casePageKey())).toEqual({ caseId: CASE_ID, status: 'OPEN', createdAt: CREATED_AT });
    expect(caseOfListingPageKey('t-1', casePageKey('CLOSED'), 'CLOSED')?.caseId).toBe(CASE_ID);
  });

  it.each(['PK', 'SK', 'GSI1PK', 'GSI1SK'])('refuses a key whose %s is present but empty', (name) => {
    expect(caseOfListingPageKey('t-1', { ...casePageKey(), [name]: '' })).toBeUndefined();
  });

  it.each([
    ["another tenant's case", { PK: caseKey('t-2', CASE_ID).PK }],
    ["another tenant's listing", { GSI1PK: 'TENANT#t-2#CASES' }],
    ['a note instead of the case item', { SK: `${NOTE_SORT_PREFIX}${OTHER_CASE_ID}` }],
    ['a case partition with no case id', { PK: 'TENANT#t-1#CASE#' }],
    ['a case partition with a malformed case id', { PK: 'TENANT#t-1#CASE#nope' }],
    ['a listing sort key of another case', { GSI1SK: caseListingKey('t-1', 'OPEN', CREATED_AT, OTHER_CASE_ID).GSI1SK }],
    ['a listing sort key with an unknown status rank', { GSI1SK: `S9#${CREATED_AT}#${CASE_ID}` }],
    ['a listing sort key with no time', { GSI1SK: `S1##${CASE_ID}` }],
    ['a listing sort key with a time that is not an ISO instant', { GSI1SK: `S1#yesterday#${CASE_ID}` }],
    ['a listing sort key that is only the status prefix', { GSI1SK: 'S1#' }],
  ])('refuses %s', (_label, change) => {
    expect(caseOfListingPageKey('t-1', { ...casePageKey(), ...change })).toBeUndefined();
  });

  it('refuses a key of another status than the listing is filtered by', () => {
    expect(caseOfListingPageKey('t-1', casePageKey('CLOSED'), 'OPEN')).toBeUndefined();
  });

  it('refuses any change of one attribute of an issued key to another string', () => {
    const issued = casePageKey();
    fc.assert(
      fc.property(fc.constantFrom('PK', 'SK', 'GSI1PK', 'GSI1SK'), fc.string({ maxLength: 80 }), (name, value) => {
        fc.pre(value !== issued[name]);
        expect(caseOfListingPageKey('t-1', { ...issued, [name]: value })).toBeUndefined();
      }),
    );
  });
});

describe('tenantOfListingPageKey', () => {
  it('recognises a key the listing of all tenants issues', () => {
    expect(tenantOfListingPageKey(tenantPageKey())).toBe('t-1');
  });

  it.each(['PK', 'SK', 'GSI1PK', 'GSI1SK'])('refuses a key whose %s is present but empty', (name) => {
    expect(tenantOfListingPageKey({ ...tenantPageKey(), [name]: '' })).toBeUndefined();
  });

  it.each([
    ['an audit record instead of the tenant record', { SK: `${AUDIT_SORT_PREFIX}${CASE_ID}` }],
    ["a case partition instead of the tenant's record", { PK: caseKey('t-1', CASE_ID).PK }],
    ['a malformed tenant id', { PK: 'TENANT#T_1' }],
    ['another listing partition', { GSI1PK: 'TENANT#t-1#CASES' }],
    ['a listing place of another tenant', { GSI1SK: tenantListingKey('t-2', CREATED_AT).GSI1SK }],
    ['a listing place with a time that is not an ISO instant', { GSI1SK: '2025-03-01#t-1' }],
    ['a listing place with no time', { GSI1SK: '#t-1' }],
  ])('refuses %s', (_label, change) => {
    expect(tenantOfListingPageKey({ ...tenantPageKey(), ...change })).toBeUndefined();
  });

  it('refuses any change of one attribute of an issued key to another string', () => {
    const issued = tenantPageKey();
    fc.assert(
      fc.property(fc.constantFrom('PK', 'SK', 'GSI1PK', 'GSI1SK'), fc.string({ maxLength: 80 }), (name, value) => {
        fc.pre(value !== issued[name]);
        expect(tenantOfListingPageKey({ ...issued, [name]: value })).toBeUndefined();
      }),
    );
  });
});

describe('isUlidSortKey', () => {
  it('accepts the prefix followed by a ULID, and nothing else', () => {
    expect(isUlidSortKey(`${AUDIT_SORT_PREFIX}${CASE_ID}`, AUDIT_SORT_PREFIX)).toBe(true);
    expect(isUlidSortKey(`${NOTE_SORT_PREFIX}${CASE_ID}`, NOTE_SORT_PREFIX)).toBe(true);
    for (const sortKey of ['', AUDIT_SORT_PREFIX, `${AUDIT_SORT_PREFIX}x`, `${NOTE_SORT_PREFIX}${CASE_ID}`, undefined]) {
      expect(isUlidSortKey(sortKey, AUDIT_SORT_PREFIX)).toBe(false);
    }
  });
});
