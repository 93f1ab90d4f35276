import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, type PageKey } from './cursor.js';
import { InvalidCursor } from './errors.js';
import { caseKey, caseListingKey, caseListingPartition } from '../keys/keys.js';

const CASE_ID = '01HZY3J5V8K2M4N6P8Q0R2S4T6';

const LISTING_ATTRIBUTES = ['PK', 'SK', 'GSI1PK', 'GSI1SK'] as const;

/** A real listing page key for tenant `tenantId`, as DynamoDB returns it in LastEvaluatedKey. */
function pageKeyOf(tenantId: string): PageKey {
  return { ...caseKey(tenantId, CASE_ID), ...caseListingKey(tenantId, 'OPEN', '2025-03-01T10:00:00.000Z', CASE_ID) };
}

/** What the case listing of tenant t-1 expects: its attributes, in its own GSI1 partition. */
const t1Listing = {
  attributes: LISTING_ATTRIBUTES,
  accept: (key: PageKey) => key.GSI1PK === caseListingPartition('t-1'),
};

const acceptAll = { attributes: LISTING_ATTRIBUTES, accept: () => true };

/** Encodes an arbitrary payload the way encodeCursor does, to forge cursors. */
function forge(payload: unknown): string {
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

function expectInvalid(cursor: string, expected: Parameters<typeof decodeCursor>[1] = acceptAll): void {
  let thrown: unknown;
  try {
    decodeCursor(cursor, expected);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidCursor);
  expect((thrown as InvalidCursor).code).toBe('INVALID_CURSOR');
}

describe('encodeCursor / decodeCursor', () => {
  it('round-trips a page key', () => {
    const key = pageKeyOf('t-1');
    expect(decodeCursor(encodeCursor(key)!, t1Listing)).toEqual(key);
  });

  it('round-trips non-ASCII values', () => {
    const key = { PK: 'TENANT#t-1#CASE#x', SK: 'CASE', GSI1PK: 'TENANT#t-1#CASES', GSI1SK: 'S1#ünïcødé 🚀' };
    expect(decodeCursor(encodeCursor(key)!, t1Listing)).toEqual(key);
  });

  it('produces a URL-safe cursor that needs no escaping in a query string', () => {
    const cursor = encodeCursor({ PK: '>>>???', SK: '~~~///', GSI1PK: '+++', GSI1SK: '===' })!;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(encodeURIComponent(cursor)).toBe(cursor);
  });

  it('returns no cursor when there is no next page, and no key when no cursor was sent', () => {
    expect(encodeCursor(undefined)).toBeNull();
    expect(decodeCursor(undefined, t1Listing)).toBeUndefined();
  });
});

describe('decodeCursor rejects a tampered cursor with InvalidCursor', () => {
  it.each([
    ['an empty string', ''],
    ['standard base64 "+" and "/"', 'eyJ2Ijox+/'],
    ['base64 padding', `${forge({ v: 1, k: {} })}==`],
    ['whitespace', 'eyJ2 Ijox'],
    ['a dot', 'abc.def'],
    ['percent-encoding', 'eyJ2%3D'],
  ])('that is not base64url: %s', (_label, cursor) => {
    expectInvalid(cursor);
  });

  // Node's base64url decoder skips characters outside its alphabet, so each of these still decodes to
  // t-1's own page key: only the rule "nothing but base64url, from the first character to the last"
  // refuses them.
  it.each([
    ['padding after it', (cursor: string) => `${cursor}==`],
    ['a dot after it', (cursor: string) => `${cursor}.`],
    ['a newline after it', (cursor: string) => `${cursor}\n`],
    ['a space before it', (cursor: string) => ` ${cursor}`],
    ['a dot before it', (cursor: string) => `.${cursor}`],
  ])('that is a real cursor with %s', (_label, tamper) => {
    const cursor = encodeCursor(pageKeyOf('t-1'))!;
    expect(decodeCursor(cursor, t1Listing)).toEqual(pageKeyOf('t-1'));
    expectInvalid(tamper(cursor), t1Listing);
  });

  it('that is base64url but not JSON', () => {
    expectInvalid(Buffer.from('not json at all').toString('base64url'));
  });

  it.each([
    ['version 2', { v: 2, k: pageKeyOf('t-1') }],
    ['version "1" as a string', { v: '1', k: pageKeyOf('t-1') }],
    ['no version', { k: pageKeyOf('t-1') }],
  ])('with the wrong version: %s', (_label, payload) => {
    expectInvalid(forge(payload));
  });

  it.each([
    ['a JSON array', [1, 2]],
    ['JSON null', null],
    ['a JSON string', 'cursor'],
    ['no key', { v: 1 }],
    ['a key that is an array', { v: 1, k: ['TENANT#t-1'] }],
    ['a key that is null', { v: 1, k: null }],
    ['a key that is a string', { v: 1, k: 'TENANT#t-1' }],
  ])('with the wrong shape: %s', (_label, payload) => {
    expectInvalid(forge(payload));
  });

  it('with an extra attribute', () => {
    expectInvalid(forge({ v: 1, k: { ...pageKeyOf('t-1'), tenantId: 't-1' } }));
  });

  it.each(LISTING_ATTRIBUTES)('with the attribute %s missing', (missing) => {
    const rest = Object.fromEntries(Object.entries(pageKeyOf('t-1')).filter(([name]) => name !== missing));
    expectInvalid(forge({ v: 1, k: rest }));
  });

  it('with an attribute renamed', () => {
    const { GSI1SK, ...rest } = pageKeyOf('t-1');
    expectInvalid(forge({ v: 1, k: { ...rest, GSI2SK: GSI1SK } }));
  });

  it.each([
    ['a number', 1],
    ['null', null],
    ['a boolean', true],
    ['an object (a DynamoDB AttributeValue)', { S: 'CASE' }],
    ['an array', ['CASE']],
  ])('with a value that is %s', (_label, value) => {
    expectInvalid(forge({ v: 1, k: { ...pageKeyOf('t-1'), SK: value } }));
  });

  it('with a single value longer than 512 characters', () => {
    const cursor = forge({ v: 1, k: { ...pageKeyOf('t-1'), GSI1SK: 'x'.repeat(513) } });
    expect(cursor.length).toBeLessThan(2048);
    expectInvalid(cursor);
  });

  it('longer than 2048 characters even when every value is within bounds', () => {
    const long = 'x'.repeat(500);
    const cursor = encodeCursor({ PK: long, SK: long, GSI1PK: long, GSI1SK: long })!;
    expect(cursor.length).toBeGreaterThan(2048);
    expectInvalid(cursor);
  });

  it("that points into another tenant's partition", () => {
    const otherTenant = encodeCursor(pageKeyOf('t-2'))!;
    // The same cursor is fine for its own tenant: only `accept` refuses it.
    expect(decodeCursor(otherTenant, { attributes: LISTING_ATTRIBUTES, accept: (key) => key.GSI1PK === 'TENANT#t-2#CASES' })).toEqual(pageKeyOf('t-2'));
    expectInvalid(otherTenant, t1Listing);
  });

  it("that points into t-10's partition when read by t-1", () => {
    expectInvalid(encodeCursor(pageKeyOf('t-10'))!, t1Listing);
  });
});

describe('decodeCursor refuses an empty value', () => {
  it.each(['PK', 'SK', 'GSI1PK', 'GSI1SK'])('in %s, even when the listing would accept it', (name) => {
    expectInvalid(forge({ v: 1, k: { ...pageKeyOf('t-1'), [name]: '' } }));
  });

  it('unless the listing names that attribute as one that may be empty', () => {
    const key = { ...pageKeyOf('t-1'), GSI1SK: '' };
    expect(decodeCursor(forge({ v: 1, k: key }), { ...acceptAll, mayBeEmpty: ['GSI1SK'] })).toEqual(key);
    expectInvalid(forge({ v: 1, k: { ...key, SK: '' } }), { ...acceptAll, mayBeEmpty: ['GSI1SK'] });
  });
});
