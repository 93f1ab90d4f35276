import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { requireFeature } from './entitlements.js';
import { FeatureNotEntitled, MissingTenantContext } from '../shared/errors.js';
import { useTenant, withTenant, type TenantContext } from './tenant-context.js';

function tenant(tenantId: string, overrides: Partial<TenantContext> = {}): TenantContext {
  return {
    tenantId,
    tier: 'basic',
    cellId: 'cell-1',
    userId: `${tenantId}-user`,
    username: `admin@${tenantId}.example`,
    roles: ['admin'],
    overrides: {},
    ...overrides,
  };
}

describe('useTenant', () => {
  it('throws MissingTenantContext outside withTenant', () => {
    expect(() => useTenant()).toThrow(MissingTenantContext);
  });

  it('makes entitlement checks outside withTenant fail loudly rather than pass', () => {
    expect(() => requireFeature('cases')).toThrow(MissingTenantContext);
  });

  it('returns the tenant of the enclosing withTenant, also after an await', async () => {
    const seen = await withTenant(tenant('t-1'), async () => {
      await sleep(1);
      return useTenant().tenantId;
    });
    expect(seen).toBe('t-1');
  });

  it('does not leak the tenant out of the scope once withTenant returns', async () => {
    await withTenant(tenant('t-1'), async () => {
      await sleep(1);
    });
    expect(() => useTenant()).toThrow(MissingTenantContext);
  });

  it('gives callers a context they cannot rewrite to another tenant', () => {
    withTenant(tenant('t-1'), () => {
      expect(() => {
        (useTenant() as TenantContext).tenantId = 't-2';
      }).toThrow(TypeError);
      expect(useTenant().tenantId).toBe('t-1');
    });
  });

  it('is not affected by the caller mutating its context object after entering the scope', () => {
    const context = tenant('t-1');
    withTenant(context, () => {
      context.tenantId = 't-2';
      expect(useTenant().tenantId).toBe('t-1');
    });
  });
});

describe('withTenant', () => {
  it.each(['T-1', 't-1#CASE', 't*', ''])('refuses a malformed tenant id %j without running the callback', (tenantId) => {
    let ran = false;
    expect(() =>
      withTenant(tenant(tenantId), () => {
        ran = true;
      }),
    ).toThrow(/malformed tenant id/);
    expect(ran).toBe(false);
  });

  it('keeps two concurrent requests in their own tenant across interleaved awaits', async () => {
    const observe = (tenantId: string, delays: number[]) =>
      withTenant(tenant(tenantId), async () => {
        const seen: string[] = [];
        for (const delay of delays) {
          await sleep(delay);
          seen.push(useTenant().tenantId);
        }
        return seen;
      });
    // Different delays make the two scopes' continuations alternate on the event loop.
    const [a, b] = await Promise.all([observe('t-1', [5, 1, 5, 1, 5]), observe('t-10', [1, 5, 1, 5, 1])]);
    expect(a).toEqual(['t-1', 't-1', 't-1', 't-1', 't-1']);
    expect(b).toEqual(['t-10', 't-10', 't-10', 't-10', 't-10']);
  });

  it('keeps entitlement checks per tenant across concurrent requests', async () => {
    const attempt = (tenantId: string, tier: TenantContext['tier']) =>
      withTenant(tenant(tenantId, { tier }), async () => {
        await sleep(tier === 'basic' ? 5 : 1);
        try {
          requireFeature('export');
          return 'allowed';
        } catch (error) {
          if (error instanceof FeatureNotEntitled) return 'denied';
          throw error;
        }
      });
    expect(await Promise.all([attempt('t-basic', 'basic'), attempt('t-std', 'standard'), attempt('t-basic2', 'basic')])).toEqual(['denied', 'allowed', 'denied']);
  });

  it('lets a nested scope see its own tenant and restores the outer one afterwards', async () => {
    await withTenant(tenant('t-1'), async () => {
      const inner = await withTenant(tenant('t-2'), async () => {
        await sleep(1);
        return useTenant().tenantId;
      });
      expect(inner).toBe('t-2');
      expect(useTenant().tenantId).toBe('t-1');
    });
  });
});
