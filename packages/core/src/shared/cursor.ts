/**
 * Opaque pagination cursors: base64url JSON of DynamoDB's LastEvaluatedKey. Decoding is strict —
 * the caller says which attributes a key of this listing has and checks the key is exactly one the
 * listing issues, in the current tenant's partition — so a tampered cursor is a 400, never another
 * tenant's page or a 500. A value is never empty (DynamoDB refuses an empty key attribute) unless
 * the listing names it in `mayBeEmpty`.
 */
import { InvalidCursor } from './errors.js';

const MAX_CURSOR_LENGTH = 2048;

export type PageKey = Record<string, string>;

export function encodeCursor(key: PageKey | undefined): string | null {
  if (!key) return null;
  return Buffer.from(JSON.stringify({ v: 1, k: key }), 'utf8').toString('base64url');
}

export function decodeCursor(
  cursor: string | undefined,
  expected: { attributes: readonly string[]; mayBeEmpty?: readonly string[]; accept: (key: PageKey) => boolean },
): PageKey | undefined {
  if (cursor === undefined) return undefined;
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw new InvalidCursor();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new InvalidCursor({ cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { v?: unknown }).v !== 1) throw new InvalidCursor();
  const key = (parsed as { k?: unknown }).k;
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new InvalidCursor();
  const entries = Object.entries(key);
  const names = entries.map(([name]) => name).sort();
  const wanted = [...expected.attributes].sort();
  if (names.length !== wanted.length || names.some((name, i) => name !== wanted[i])) throw new InvalidCursor();
  if (entries.some(([, value]) => typeof value !== 'string' || value.length > 512)) throw new InvalidCursor();
  if (entries.some(([name, value]) => value === '' && !expected.mayBeEmpty?.includes(name))) throw new InvalidCursor();
  const pageKey = key as PageKey;
  if (!expected.accept(pageKey)) throw new InvalidCursor();
  return pageKey;
}
