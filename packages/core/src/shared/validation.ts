import type { z } from 'zod';
import { ValidationFailed } from './errors.js';

/**
 * Parses input against a verb's schema. Failures become `ValidationFailed` with one detail per
 * problem (path + message) — precise enough to fix the request, with no internal detail.
 */
export function parse<S extends z.ZodType>(schema: S, input: unknown, at = '(body)'): z.output<S> {
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
