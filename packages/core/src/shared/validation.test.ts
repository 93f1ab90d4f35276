import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { ValidationFailed, type ErrorDetail } from './errors.js';
import { parse } from './validation.js';

const CreateCase = z.strictObject({
  title: z.string().check(z.minLength(1)),
  priority: z.enum(['low', 'medium', 'high', 'urgent']),
  tags: z.optional(z.array(z.strictObject({ name: z.string() }))),
  owner: z.optional(z.strictObject({ team: z.strictObject({ id: z.string() }) })),
});

/** The details `parse` reports for `input`, failing the test if it did not throw ValidationFailed. */
function detailsOf(schema: z.ZodMiniType, input: unknown, at?: string): readonly ErrorDetail[] {
  try {
    if (at === undefined) parse(schema, input);
    else parse(schema, input, at);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationFailed);
    expect((error as ValidationFailed).code).toBe('VALIDATION_FAILED');
    expect((error as ValidationFailed).message).toBe('The request is not valid.');
    return (error as ValidationFailed).details ?? [];
  }
  throw new Error('expected parse to throw ValidationFailed');
}

describe('parse', () => {
  it('returns the parsed value when the input is valid', () => {
    expect(parse(CreateCase, { title: 'Printer on fire', priority: 'high' })).toEqual({ title: 'Printer on fire', priority: 'high' });
  });

  it('returns the schema output, not the raw input', () => {
    expect(parse(z.object({ limit: z.coerce.number() }), { limit: '25' })).toEqual({ limit: 25 });
  });

  it('reports unknown top-level fields as "Unknown field(s): …" at the body', () => {
    expect(detailsOf(CreateCase, { title: 'x', priority: 'low', tenantId: 't-2', isAdmin: true })).toEqual([
      { path: '(body)', message: 'Unknown field(s): tenantId, isAdmin' },
    ]);
  });

  it('reports a single unknown nested field at its parent path', () => {
    expect(detailsOf(CreateCase, { title: 'x', priority: 'low', owner: { team: { id: 'a', secret: 1 } } })).toEqual([
      { path: 'owner.team', message: 'Unknown field(s): secret' },
    ]);
  });

  it('joins nested paths and array indexes with dots', () => {
    const details = detailsOf(CreateCase, { title: 'x', priority: 'low', tags: [{ name: 'ok' }, { name: 7 }] });
    expect(details).toHaveLength(1);
    expect(details[0]!.path).toBe('tags.1.name');
  });

  it('reports one detail per problem, each at its own field', () => {
    const details = detailsOf(CreateCase, { title: '', priority: 'whenever' });
    expect(details.map((detail) => detail.path).sort()).toEqual(['priority', 'title']);
    for (const detail of details) expect(detail.message).not.toBe('');
  });

  it('explains each problem in English words, not a bare "Invalid input"', () => {
    expect(detailsOf(CreateCase, { title: '', priority: 'low' })).toEqual([{ path: 'title', message: 'Too small: expected string to have >=1 characters' }]);
    expect(detailsOf(CreateCase, { title: 'x', priority: 'whenever' })[0]?.message).toMatch(/^Invalid option: expected one of /);
  });

  it('reports a missing required field at its name', () => {
    expect(detailsOf(CreateCase, { title: 'x' }).map((detail) => detail.path)).toEqual(['priority']);
  });

  it('uses the `at` label when the top-level value itself is wrong', () => {
    expect(detailsOf(z.uuid(), 'not-a-uuid', '(path: caseId)').map((detail) => detail.path)).toEqual(['(path: caseId)']);
    expect(detailsOf(CreateCase, 'a string body', '(query)').map((detail) => detail.path)).toEqual(['(query)']);
  });

  it('labels a wrong top-level value "(body)" by default', () => {
    expect(detailsOf(CreateCase, null).map((detail) => detail.path)).toEqual(['(body)']);
  });

  it('reports unknown top-level fields under the `at` label too', () => {
    expect(detailsOf(z.strictObject({ status: z.optional(z.string()) }), { sort: 'desc' }, '(query)')).toEqual([{ path: '(query)', message: 'Unknown field(s): sort' }]);
  });
});
