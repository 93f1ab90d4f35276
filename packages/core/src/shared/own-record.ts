/**
 * Maps built from client input (headers, query strings, path parameters, JSON members) whose keys
 * are the client's words. An ordinary object literal answers `constructor`, `toString` or
 * `__proto__` from `Object.prototype` before the client ever sent them — so `map[name] ??= []`
 * pushes onto a function, and `name in map` is true for a name nobody sent. These records have no
 * prototype: a key is there only if the client sent it, and `__proto__` is an ordinary key.
 */

/** A record with no prototype, filled from `entries` (a later entry with the same key wins). */
export function ownRecord<V>(entries: Iterable<readonly [string, V]> = []): Record<string, V> {
  const record = Object.create(null) as Record<string, V>;
  // Plain assignment: with no prototype there is no `__proto__` setter, so every key is an own key.
  for (const [key, value] of entries) record[key] = value;
  return record;
}

/** `record[key]` only when `record` holds `key` itself: never a value inherited from a prototype. */
export function ownValue<V>(record: Readonly<Record<string, V>> | null | undefined, key: string): V | undefined {
  return record !== null && record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * `JSON.parse` whose objects (at every depth) have no prototype, for request bodies the code reads
 * by member name. Throws `SyntaxError` as `JSON.parse` does.
 */
export function parseJsonOwn(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => (typeof value === 'object' && value !== null && !Array.isArray(value) ? ownRecord(Object.entries(value)) : value));
}
