/**
 * CloudWatch Logs subscription filter patterns, the subset Cellbook's subscriptions use (routes.ts
 * LOG_SUBSCRIBERS): the empty pattern (every event) and JSON equality on a property path,
 * `{ $.type = "cellbook.usage" }`. No npm library implements CloudWatch's pattern syntax, so this is
 * hand-written and refuses any other pattern outright rather than guessing at its meaning.
 */

export type LogEventMatcher = (message: string) => boolean;

const JSON_EQUALITY = /^\{\s*\$\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*\}$/;

/** A matcher for `pattern`; throws for a pattern outside the supported subset. */
export function compileFilterPattern(pattern: string): LogEventMatcher {
  if (pattern.trim() === '') return () => true;
  const match = JSON_EQUALITY.exec(pattern.trim());
  if (!match) throw new Error(`unsupported CloudWatch Logs filter pattern: ${pattern}`);
  const path = (match[1] ?? '').split('.');
  const expected = JSON.parse(`"${match[2] ?? ''}"`) as string;
  return (message) => {
    let value: unknown;
    try {
      value = JSON.parse(message);
    } catch {
      // A JSON pattern never matches a line that is not JSON, as in CloudWatch.
      return false;
    }
    for (const key of path) {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) return false;
      value = (value as Record<string, unknown>)[key];
    }
    return value === expected;
  };
}
