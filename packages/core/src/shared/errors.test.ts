import { describe, expect, it } from 'vitest';
import * as Errors from './errors.js';
import { everyDomainError } from './errors.fixture.js';

const domainErrors = everyDomainError('a message');

/**
 * Codes that more than one error answers with, on purpose: the identity broker refuses a caller
 * with the same FORBIDDEN as a missing role, so its refusal tells nothing of its reason.
 */
const SHARED_CODES = ['FORBIDDEN'];

describe('DomainError', () => {
  it('finds the domain errors to check', () => {
    expect(domainErrors.length).toBeGreaterThan(30);
    expect(domainErrors.map(([name]) => name)).toContain('CaseNotFound');
    expect(domainErrors.map(([name]) => name)).not.toContain('MissingTenantContext');
  });

  it.each(domainErrors)('%s declares a stable code and an API status for it', (_name, error) => {
    expect(error.code).toMatch(/^[A-Z]+(_[A-Z]+)*$/);
    expect(Errors.ERROR_STATUSES).toContain(error.status);
    // Only a condition that passes by itself is answered 5xx; everything else is the client's to fix.
    if (error.status >= 500) expect(error.status).toBe(503);
  });

  it('gives each code one status, and each error its own code unless it shares one on purpose', () => {
    const byCode = new Map<string, Array<[string, Errors.DomainError]>>();
    for (const entry of domainErrors) byCode.set(entry[1].code, [...(byCode.get(entry[1].code) ?? []), entry]);
    for (const [code, errors] of byCode) {
      expect(new Set(errors.map(([, error]) => error.status)), code).toHaveLength(1);
      if (errors.length > 1) expect(SHARED_CODES, `${code} is declared by ${errors.map(([name]) => name).join(', ')}`).toContain(code);
    }
  });

  it('answers every transient error 503, the status a Retry-After goes with', () => {
    const transient = domainErrors.filter(([, error]) => error instanceof Errors.TransientDomainError);
    expect(transient.length).toBeGreaterThan(0);
    for (const [name, error] of transient) expect(error.status, name).toBe(503);
  });

  it('carries the error it wraps as its cause, and keeps its message for the client', () => {
    const sdkError = Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
    const concurrent = new Errors.ConcurrentModification(undefined, { cause: sdkError });
    expect(concurrent.cause).toBe(sdkError);
    expect(concurrent.message).toBe('The case was changed by another request; read it again and retry.');
    const invalid = new Errors.ValidationFailed('The request is not valid.', { details: [{ path: 'x', message: 'Required' }], cause: sdkError });
    expect(invalid.cause).toBe(sdkError);
    expect(invalid.details).toEqual([{ path: 'x', message: 'Required' }]);
    expect(new Errors.CaseNotFound({ cause: sdkError }).cause).toBe(sdkError);
  });

  it('has no cause when it wraps nothing', () => {
    expect('cause' in new Errors.CaseNotFound()).toBe(false);
    expect('cause' in new Errors.MalformedRequest('The request body is not valid JSON.')).toBe(false);
  });
});
