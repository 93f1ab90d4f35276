import * as z from 'zod/mini';
import { decodeCursor } from '../shared/cursor.js';
import { assertTenantId } from '../keys/keys.js';
import { PageLimit, parse } from '../shared/validation.js';
import {
  CURSOR_ATTRIBUTES,
  EMPTY_OUTSIDE_CASES,
  encodePosition,
  lanesOf,
  positionOf,
  walk,
  type Position,
  type TenantDataOptions,
  type TenantDataSources,
  type TenantItem,
} from './walk.js';
import { exportLine } from './fingerprint.js';

export const ReadInput = z.strictObject({
  limit: PageLimit(1000, 500, 'limit must be a whole number'),
  cursor: z.optional(z.string()),
});
export type ReadInput = z.input<typeof ReadInput>;

export interface TenantItemPage {
  items: TenantItem[];
  /** Continue with this; null once every item has been returned. */
  nextCursor: string | null;
}

export interface ReadPageOptions extends TenantDataOptions {
  /**
   * A page stops before its JSON Lines (see `exportLines`) would exceed this many bytes; a single
   * larger item still makes a page on its own. The default keeps a page well inside Lambda's 6 MB
   * response limit even after the lines are escaped into the response's JSON body.
   */
  maxBytes?: number;
}

const DEFAULT_PAGE_BYTES = 4 * 1024 * 1024;

/**
 * One page of the tenant's items (registry and/or cell) for an export: up to `limit` items and at
 * most `maxBytes` of JSON Lines, and a cursor to continue from. The cursor is bound to the tenant:
 * another tenant's cursor, or a tampered one, is `InvalidCursor`. Pages are gapless and never
 * repeat an item, provided the tenant is quiesced between pages.
 */
export async function readTenantItems(sources: TenantDataSources, tenantId: string, input: unknown, options: ReadPageOptions = {}): Promise<TenantItemPage> {
  assertTenantId(tenantId);
  const { limit, cursor } = parse(ReadInput, input ?? {});
  const lanes = lanesOf(sources);
  const startKey = decodeCursor(cursor, {
    attributes: CURSOR_ATTRIBUTES,
    mayBeEmpty: EMPTY_OUTSIDE_CASES,
    accept: (key) => positionOf(key, tenantId, lanes) !== undefined,
  });
  const from = startKey && positionOf(startKey, tenantId, lanes);
  const maxBytes = options.maxBytes ?? DEFAULT_PAGE_BYTES;

  const items: TenantItem[] = [];
  let bytes = 0;
  let lastPosition: Position | undefined;
  for await (const { table, item, position } of walk(lanes, tenantId, from, options.queryPageSize)) {
    const entry: TenantItem = { table, item };
    const size = Buffer.byteLength(exportLine(entry));
    // The item that does not fit proves there is more: only then is there a next cursor.
    if (lastPosition && (items.length >= limit || bytes + size > maxBytes)) {
      return { items, nextCursor: encodePosition(tenantId, lastPosition) };
    }
    items.push(entry);
    bytes += size;
    lastPosition = position;
  }
  return { items, nextCursor: null };
}
