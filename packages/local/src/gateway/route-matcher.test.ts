import { describe, expect, it } from 'vitest';
import { matchRoute, type MatchableRoute } from './route-matcher.js';

interface Route extends MatchableRoute {
  name: string;
}

const route = (method: string, path: string, name: string): Route => ({ method, path, name });

const ROUTES: readonly Route[] = [
  route('GET', '/cases', 'list'),
  route('POST', '/cases', 'create'),
  route('GET', '/cases/{caseId}', 'get'),
  route('PATCH', '/cases/{caseId}', 'update'),
  route('GET', '/cases/export', 'export'),
  route('GET', '/cases/{caseId}/notes', 'notes'),
  route('GET', '/admin/tenants/{tenantId}', 'tenant'),
  route('POST', '/admin/tenants/{tenantId}/suspend', 'suspend'),
];

const nameOf = (method: string, path: string) => matchRoute(ROUTES, method, path)?.route.name;

describe('matchRoute', () => {
  it('matches a literal path', () => {
    expect(matchRoute(ROUTES, 'GET', '/cases')).toEqual({ route: ROUTES[0], pathParameters: {} });
  });

  it('extracts path parameters by name', () => {
    expect(matchRoute(ROUTES, 'GET', '/cases/01HZY3J5V8K2M4N6P8Q0R2S4T6/notes')).toEqual({
      route: ROUTES[5],
      pathParameters: { caseId: '01HZY3J5V8K2M4N6P8Q0R2S4T6' },
    });
  });

  it('prefers a literal segment over a {param} segment', () => {
    expect(nameOf('GET', '/cases/export')).toBe('export');
    expect(nameOf('GET', '/cases/anything-else')).toBe('get');
  });

  it('prefers the literal whatever order the routes are declared in', () => {
    const reversed = [route('GET', '/cases/export', 'export'), route('GET', '/cases/{caseId}', 'get')];
    const forward = [route('GET', '/cases/{caseId}', 'get'), route('GET', '/cases/export', 'export')];
    expect(matchRoute(reversed, 'GET', '/cases/export')?.route.name).toBe('export');
    expect(matchRoute(forward, 'GET', '/cases/export')?.route.name).toBe('export');
  });

  it('still matches the parameter route for the literal under another method', () => {
    // PATCH /cases/export has no literal route, so "export" is a case id there.
    expect(matchRoute(ROUTES, 'PATCH', '/cases/export')).toEqual({ route: ROUTES[3], pathParameters: { caseId: 'export' } });
  });

  it('percent-decodes path parameters', () => {
    expect(matchRoute(ROUTES, 'GET', '/admin/tenants/acme%20corp')?.pathParameters).toEqual({ tenantId: 'acme corp' });
    expect(matchRoute(ROUTES, 'GET', '/cases/caf%C3%A9')?.pathParameters).toEqual({ caseId: 'café' });
  });

  it('does not match a path parameter with malformed percent-encoding', () => {
    expect(matchRoute(ROUTES, 'GET', '/cases/%E0%A4%A')).toBeUndefined();
    expect(matchRoute(ROUTES, 'GET', '/cases/100%')).toBeUndefined();
    expect(matchRoute(ROUTES, 'GET', '/cases/%ZZ')).toBeUndefined();
  });

  it('does not match when the method differs', () => {
    expect(matchRoute(ROUTES, 'DELETE', '/cases/01HZY3J5V8K2M4N6P8Q0R2S4T6')).toBeUndefined();
    expect(matchRoute(ROUTES, 'POST', '/admin/tenants/t-1')).toBeUndefined();
  });

  it('matches methods case-sensitively, as API Gateway receives them', () => {
    expect(matchRoute(ROUTES, 'get', '/cases')).toBeUndefined();
  });

  it('does not match a path with more or fewer segments', () => {
    expect(matchRoute(ROUTES, 'GET', '/cases/a/b')).toBeUndefined();
    expect(matchRoute(ROUTES, 'POST', '/admin/tenants/t-1/suspend/now')).toBeUndefined();
    expect(matchRoute(ROUTES, 'GET', '/')).toBeUndefined();
  });

  it('does not match a literal segment that differs only in case', () => {
    expect(matchRoute(ROUTES, 'GET', '/Cases')).toBeUndefined();
  });

  it('returns nothing when there are no routes', () => {
    expect(matchRoute([], 'GET', '/cases')).toBeUndefined();
  });
});
