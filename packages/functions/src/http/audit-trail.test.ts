import { describe, expect, it } from 'vitest';
import { CELL_ROUTES } from '../routes.js';
import type { TenantApiHandler } from './api-handler.js';

/**
 * Tenant routes that are not in the tenant's audit trail, and why: each one reads only the caller's
 * own profile and plan, no case, note, evidence or user.
 */
const NOT_AUDITED: Record<string, string> = {
  me: "the caller's own identity and plan",
  'me-usage': "the caller's own plan usage",
};

describe('the tenant audit trail covers every tenant route', () => {
  for (const route of CELL_ROUTES.filter((candidate) => candidate.auth !== 'none')) {
    it(`${route.method} ${route.path} declares its audit action, or is exempt on purpose`, async () => {
      const { handler } = (await import(/* @vite-ignore */ new URL(`../${route.handler}.ts`, import.meta.url).href)) as { handler: TenantApiHandler };
      if (route.handler in NOT_AUDITED) {
        expect(handler.audit).toBeNull();
        return;
      }
      expect(handler.audit?.action).toMatch(/^[a-z-]+(\.[a-z-]+)+$/);
    });
  }
});
