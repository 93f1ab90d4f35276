import { describe, expect, it } from 'vitest';
import { unverifiedTenantClaim } from './router.js';

const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT-shaped token; the signature is never checked here (the cell's authorizer does that). */
function token(claims: unknown): string {
  return `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims)}.${b64url('signature-bytes')}`;
}

describe('unverifiedTenantClaim', () => {
  it('reads tenant_id from a Bearer token', () => {
    expect(unverifiedTenantClaim(`Bearer ${token({ sub: 'u-1', tenant_id: 'acme-x1', roles: ['admin'] })}`)).toBe('acme-x1');
  });

  it('returns undefined without an Authorization header', () => {
    expect(unverifiedTenantClaim(undefined)).toBeUndefined();
    expect(unverifiedTenantClaim('')).toBeUndefined();
  });

  it('returns undefined for a token without a tenant_id claim (e.g. an operator token)', () => {
    expect(unverifiedTenantClaim(`Bearer ${token({ sub: 'operator', roles: ['operator'] })}`)).toBeUndefined();
  });

  it.each([
    ['a number', 42],
    ['null', null],
    ['an array', ['t-1']],
    ['an object', { id: 't-1' }],
  ])('returns undefined when tenant_id is %s', (_label, tenantId) => {
    expect(unverifiedTenantClaim(`Bearer ${token({ tenant_id: tenantId })}`)).toBeUndefined();
  });

  it.each([
    ['Basic credentials', `Basic ${b64url('user:pass')}`],
    ['a bare token without a scheme', token({ tenant_id: 't-1' })],
    ['another scheme', `Token ${token({ tenant_id: 't-1' })}`],
    ['two spaces after Bearer', `Bearer  ${token({ tenant_id: 't-1' })}`],
    ['trailing text', `Bearer ${token({ tenant_id: 't-1' })} extra`],
    ['only two segments', `Bearer ${b64url({ alg: 'none' })}.${b64url({ tenant_id: 't-1' })}`],
    ['four segments', `Bearer ${token({ tenant_id: 't-1' })}.more`],
    ['standard base64 characters', `Bearer a+b.${b64url({ tenant_id: 't-1' })}.c/d`],
  ])('returns undefined for a non-Bearer or malformed header: %s', (_label, header) => {
    expect(unverifiedTenantClaim(header)).toBeUndefined();
  });

  it.each([
    ['a payload that is not JSON', b64url('{')],
    ['a payload that is JSON null', b64url('null')],
    ['a payload that is a JSON string', b64url('"t-1"')],
    ['a payload of garbage bytes', Buffer.from([0xff, 0xfe, 0x00, 0x7b]).toString('base64url')],
  ])('returns undefined for %s', (_label, payload) => {
    expect(unverifiedTenantClaim(`Bearer ${b64url({ alg: 'RS256' })}.${payload}.${b64url('sig')}`)).toBeUndefined();
  });
});
