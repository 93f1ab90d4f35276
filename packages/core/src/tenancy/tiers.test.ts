import { describe, expect, it } from 'vitest';
import {
  EVIDENCE_CONTENT_TYPES,
  FEATURES,
  isEvidenceContentType,
  isTierName,
  LATENCY_SLO_PERCENT,
  MAX_EVIDENCE_FILE_BYTES,
  TIER_NAMES,
  TIERS,
  type Placement,
  type TierName,
} from './tiers.js';

// DESIGN §2, transcribed row by row. The stacks' usage plans and the local gateway both read TIERS,
// so a drift here changes what every tenant is billed and throttled at.
const DESIGN_TABLE: Record<
  TierName,
  { placement: Placement; rate: number; burst: number; quotaPerDay: number | null; maxActiveCases: number | null; maxUsers: number | null }
> = {
  basic: { placement: 'pooled', rate: 10, burst: 20, quotaPerDay: 10_000, maxActiveCases: 1_000, maxUsers: 5 },
  standard: { placement: 'pooled', rate: 50, burst: 100, quotaPerDay: 100_000, maxActiveCases: 25_000, maxUsers: 50 },
  premium: { placement: 'pooled', rate: 200, burst: 400, quotaPerDay: 1_000_000, maxActiveCases: 250_000, maxUsers: 500 },
  enterprise: { placement: 'dedicated', rate: 1_000, burst: 2_000, quotaPerDay: null, maxActiveCases: null, maxUsers: null },
};

describe('TIERS', () => {
  it('has exactly the four tiers of the design, in ascending order', () => {
    expect([...TIER_NAMES]).toEqual(['basic', 'standard', 'premium', 'enterprise']);
    expect(Object.keys(TIERS).sort()).toEqual([...TIER_NAMES].sort());
  });

  it.each(TIER_NAMES)('%s matches DESIGN §2 number for number', (name) => {
    const row = DESIGN_TABLE[name];
    const tier = TIERS[name];
    expect(tier.name).toBe(name);
    expect(tier.placement).toBe(row.placement);
    expect(tier.throttle).toEqual({ rateLimit: row.rate, burstLimit: row.burst });
    expect(tier.quota).toEqual(row.quotaPerDay === null ? null : { limit: row.quotaPerDay, period: 'DAY' });
    expect(tier.limits).toMatchObject({ maxActiveCases: row.maxActiveCases, maxUsers: row.maxUsers });
  });

  // DESIGN §10: each tier promises more than the one below, in availability and in latency.
  it.each([
    ['basic', 99.5, 2_000],
    ['standard', 99.9, 1_000],
    ['premium', 99.95, 800],
    ['enterprise', 99.99, 500],
  ] as const)('%s promises %s %% availability and a p99 under %s ms', (name, availabilityPercent, p99LatencyMs) => {
    expect(TIERS[name].slo).toEqual({ availabilityPercent, p99LatencyMs });
  });

  it('promises stricter objectives tier by tier, and judges latency at the 99th percentile', () => {
    const slos = TIER_NAMES.map((name) => TIERS[name].slo);
    for (let i = 1; i < slos.length; i++) {
      expect(slos[i]!.availabilityPercent).toBeGreaterThan(slos[i - 1]!.availabilityPercent);
      expect(slos[i]!.p99LatencyMs).toBeLessThan(slos[i - 1]!.p99LatencyMs);
    }
    for (const slo of slos) expect(slo.availabilityPercent).toBeLessThan(100);
    expect(LATENCY_SLO_PERCENT).toBe(99);
  });

  it('gives evidence space exactly to the tiers with the evidence feature, more tier by tier, never a file over one PUT', () => {
    for (const name of TIER_NAMES) {
      const { limits, features } = TIERS[name];
      const entitled = features.includes('evidence');
      expect(limits.maxEvidenceFileBytes > 0, name).toBe(entitled);
      expect(limits.maxEvidenceBytes !== 0, name).toBe(entitled);
      expect(limits.maxEvidenceFileBytes).toBeLessThanOrEqual(MAX_EVIDENCE_FILE_BYTES);
      if (limits.maxEvidenceBytes !== null) expect(limits.maxEvidenceFileBytes).toBeLessThanOrEqual(limits.maxEvidenceBytes);
    }
    const ladder = TIER_NAMES.map((name) => TIERS[name].limits);
    for (let i = 1; i < ladder.length; i++) {
      expect(ladder[i]!.maxEvidenceFileBytes).toBeGreaterThan(ladder[i - 1]!.maxEvidenceFileBytes);
      expect(ladder[i]!.maxEvidenceBytes ?? Number.POSITIVE_INFINITY).toBeGreaterThan(ladder[i - 1]!.maxEvidenceBytes ?? Number.POSITIVE_INFINITY);
    }
  });

  it('allows documents, images, text and CSV as evidence, and nothing a browser would run', () => {
    for (const type of ['application/pdf', 'image/png', 'image/jpeg', 'text/plain', 'text/csv']) expect(isEvidenceContentType(type), type).toBe(true);
    for (const type of [
      'text/html',
      'image/svg+xml',
      'application/javascript',
      'text/xml',
      'application/xhtml+xml',
      'application/octet-stream',
      'application/x-msdownload',
      'application/zip',
      'TEXT/PLAIN',
    ]) {
      expect(isEvidenceContentType(type), type).toBe(false);
    }
    expect(new Set(EVIDENCE_CONTENT_TYPES).size).toBe(EVIDENCE_CONTENT_TYPES.length);
  });

  it('places only enterprise tenants in a dedicated cell', () => {
    expect(TIER_NAMES.filter((name) => TIERS[name].placement === 'dedicated')).toEqual(['enterprise']);
  });

  it('builds each tier on the features of the one below, enterprise getting all', () => {
    expect([...TIERS.basic.features]).toEqual(['cases', 'notes']);
    expect([...TIERS.standard.features]).toEqual(['cases', 'notes', 'evidence', 'export']);
    expect([...TIERS.premium.features]).toEqual(['cases', 'notes', 'evidence', 'export', 'analytics', 'audit-log']);
    expect([...TIERS.enterprise.features].sort()).toEqual([...FEATURES].sort());
  });
});

describe('isTierName', () => {
  it('accepts the four tier names', () => {
    for (const name of TIER_NAMES) expect(isTierName(name)).toBe(true);
  });

  it.each(['Basic', 'gold', '', 'toString', '__proto__', 1, null, undefined])('rejects %j', (value) => {
    expect(isTierName(value)).toBe(false);
  });
});
