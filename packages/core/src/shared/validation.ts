import * as z from 'zod/mini';
import { ValidationFailed } from './errors.js';
import './zod-locale.js';

/** Why an operator changed something, as the audit trail records it. */
export const Reason = z.string().check(z.trim(), z.minLength(1), z.maxLength(500));

/** A page size from a query string: a whole number within bounds, `fallback` when absent. */
export function PageLimit(max: number, fallback: number, message?: string) {
  return z._default(z.coerce.number().check(z.int(message), z.minimum(1), z.maximum(max)), fallback);
}

/**
 * Parses input against a verb's schema. Failures become `ValidationFailed` with one detail per
 * problem (path + message) — precise enough to fix the request, with no internal detail.
 */
export function parse<S extends z.ZodMiniType>(schema: S, input: unknown, at = '(body)'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.') || at;
    if (issue.code === 'unrecognized_keys') {
      return { path, message: `Unknown field(s): ${issue.keys.join(', ')}` };
    }
    return { path, message: issue.message };
  });
  throw new ValidationFailed('The request is not valid.', { details, cause: result.error });
}
