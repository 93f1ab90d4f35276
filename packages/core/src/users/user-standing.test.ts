import { describe, expect, it } from 'vitest';
import { tenantUserStandingKey } from '../keys/keys.js';
import { judge, standingOf } from './user-standing.js';

describe('UserStanding.judge', () => {
  const issuedAt = 1_800_000_000;

  it('lets a token stand, with the roles it carries, when the user has no standing on record', () => {
    expect(judge(undefined, issuedAt)).toEqual({ valid: true });
  });

  it('voids every token of a removed user, however recent', () => {
    expect(judge({ removed: true }, issuedAt + 3600)).toEqual({ valid: false });
  });

  it('voids a token issued at or before the user was signed out, and lets a later one stand', () => {
    expect(judge({ notBefore: issuedAt }, issuedAt - 1)).toEqual({ valid: false });
    // The same second: a token's iat has whole seconds, and the doubt goes against the token.
    expect(judge({ notBefore: issuedAt }, issuedAt)).toEqual({ valid: false });
    expect(judge({ notBefore: issuedAt }, issuedAt + 1)).toEqual({ valid: true });
    expect(judge({ notBefore: issuedAt }, undefined)).toEqual({ valid: false });
  });

  it('gives a token the role the user has now, not the one it was issued with', () => {
    expect(judge({ role: 'user' }, issuedAt)).toEqual({ valid: true, roles: ['user'] });
    expect(judge({ role: 'admin', notBefore: issuedAt - 10 }, issuedAt)).toEqual({ valid: true, roles: ['admin'] });
  });
});

describe('UserStanding.standingOf', () => {
  it('voids a token whose tenant or sub could name no standing, without reading anything', async () => {
    await expect(standingOf('T-1', 'abc', 1)).resolves.toEqual({ valid: false });
    await expect(standingOf('t-1', 'a#b', 1)).resolves.toEqual({ valid: false });
    await expect(standingOf('t-1', '', 1)).resolves.toEqual({ valid: false });
  });

  it('keys a standing by the tenant first, so t-1’s never reaches t-10’s', () => {
    expect(tenantUserStandingKey('t-1', 'abc')).toEqual({ PK: 'TENANT#t-1#STANDING', SK: 'SUB#abc' });
    expect(tenantUserStandingKey('t-10', 'abc').PK.startsWith(`${tenantUserStandingKey('t-1', 'abc').PK}`)).toBe(false);
    expect(() => tenantUserStandingKey('t-1', 'a#b')).toThrow();
  });
});
