/** A tenant's items as JSON Lines, and an order-independent fingerprint (count and checksum) of them, with which a copy is verified. */
import { createHash } from 'node:crypto';
import { NumberValue } from '@aws-sdk/lib-dynamodb';
import { assertTenantId } from '../keys/keys.js';
import { lanesOf, walk, type StoredItem, type TableRef, type TenantDataOptions, type TenantItem } from './walk.js';

function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isNumeric(value: unknown): value is number | bigint | NumberValue {
  return typeof value === 'number' || typeof value === 'bigint' || value instanceof NumberValue;
}

/** A set has no order of its own: members are written sorted (numbers by value), so equal sets read equal. */
function sortedSetMembers(members: unknown[]): string[] {
  if (members.every(isNumeric)) {
    return members
      .map((member) => ({ value: Number(member instanceof NumberValue ? member.value : member), text: canonicalJson(member) }))
      .sort((a, b) => a.value - b.value || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
      .map(({ text }) => text);
  }
  return members.map(canonicalJson).sort();
}

/**
 * Deterministic JSON of a DynamoDB item: object keys sorted at every depth, sets as sorted arrays,
 * binary as base64 strings, numbers with DynamoDB's own digits when the client wraps them.
 */
function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot serialize the number ${value}`);
      return JSON.stringify(value);
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      throw new TypeError(`cannot serialize a ${typeof value} attribute`);
  }
  if (value === null) return 'null';
  if (value instanceof Set) return `[${sortedSetMembers([...(value as Set<unknown>)].filter((member) => member !== undefined)).join(',')}]`;
  if (Array.isArray(value)) return `[${value.map((element: unknown) => (element === undefined ? 'null' : canonicalJson(element))).join(',')}]`;
  if (value instanceof NumberValue) return value.value;
  if (ArrayBuffer.isView(value)) return JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'));
  if (value instanceof ArrayBuffer) return JSON.stringify(Buffer.from(value).toString('base64'));
  if (!isPlainObject(value)) throw new TypeError(`cannot serialize a ${value.constructor.name} attribute`);
  const fields = Object.keys(value)
    .filter((name) => value[name] !== undefined)
    .sort()
    .map((name) => `${JSON.stringify(name)}:${canonicalJson(value[name])}`);
  return `{${fields.join(',')}}`;
}

export function exportLine({ table, item }: TenantItem): string {
  return `{"table":${JSON.stringify(table)},"item":${canonicalJson(item)}}\n`;
}

/**
 * JSON Lines for an export page: one `{"table":…,"item":{…}}` object per line, each line ending in
 * `\n`. Item keys are sorted; DynamoDB sets become sorted arrays and binary values base64 strings.
 */
export function exportLines(items: readonly TenantItem[]): string {
  return items.map(exportLine).join('');
}

export interface Fingerprint {
  count: number;
  /** 64 hex digits; equal for the same items in any order, different if any attribute differs. */
  checksum: string;
}

const CHECKSUM_MODULUS = 1n << 256n;

/**
 * Order-independent digest of a set of items: the sum modulo 2^256 of each item's SHA-256 over its
 * canonical JSON. A sum (rather than a hash of the sorted item hashes) can be kept while streaming,
 * so fingerprinting a tenant with millions of notes needs no memory for their hashes.
 */
export class FingerprintSum {
  private count = 0;
  private sum = 0n;

  /** Continues a sum an earlier pass recorded (a copy resumed from its checkpoint). */
  static from(print: Fingerprint): FingerprintSum {
    if (!Number.isSafeInteger(print.count) || print.count < 0 || !/^[0-9a-f]{64}$/.test(print.checksum)) {
      throw new Error('refusing to continue from a malformed fingerprint');
    }
    const sum = new FingerprintSum();
    sum.count = print.count;
    sum.sum = BigInt(`0x${print.checksum}`);
    return sum;
  }

  add(item: StoredItem): void {
    const digest = createHash('sha256').update(canonicalJson(item)).digest('hex');
    this.sum = (this.sum + BigInt(`0x${digest}`)) % CHECKSUM_MODULUS;
    this.count += 1;
  }

  result(): Fingerprint {
    return { count: this.count, checksum: this.sum.toString(16).padStart(64, '0') };
  }
}

/** Count and order-independent checksum of items, to compare a tenant's copy with its source. */
export function fingerprint(items: Iterable<StoredItem>): Fingerprint {
  const sum = new FingerprintSum();
  for (const item of items) sum.add(item);
  return sum.result();
}

/**
 * The fingerprint of every item of the tenant in a cell table. Right after a copy, the target's
 * GSI1 may not list every case yet (eventual consistency in AWS): re-check a count that falls short
 * of the source's after a moment before treating the copy as failed.
 */
export async function fingerprintTenantCellItems(cell: TableRef, tenantId: string, options: TenantDataOptions = {}): Promise<Fingerprint> {
  assertTenantId(tenantId);
  const sum = new FingerprintSum();
  for await (const { item } of walk(lanesOf({ cell }), tenantId, undefined, options.queryPageSize)) sum.add(item);
  return sum.result();
}
