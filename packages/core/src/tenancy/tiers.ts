/**
 * The tier table (DESIGN §2) — the single source for the stacks' usage plans, the local gateway's
 * usage plans and the data plane's entitlement checks. Change a number here and every world follows.
 */
export const TIER_NAMES = ['basic', 'standard', 'premium', 'enterprise'] as const;
export type TierName = (typeof TIER_NAMES)[number];

export const FEATURES = ['cases', 'notes', 'evidence', 'export', 'analytics', 'audit-log'] as const;
export type Feature = (typeof FEATURES)[number];

export const PLACEMENTS = ['pooled', 'dedicated'] as const;
export type Placement = (typeof PLACEMENTS)[number];

export interface Throttle {
  /** Steady-state requests per second (API Gateway `rateLimit`). */
  rateLimit: number;
  /** Token-bucket capacity (API Gateway `burstLimit`). */
  burstLimit: number;
}

export interface Quota {
  limit: number;
  period: 'DAY';
}

export interface TierLimits {
  /** `null` means unlimited. */
  maxActiveCases: number | null;
  maxUsers: number | null;
  /**
   * The largest evidence file, in bytes. Never unlimited: an export volume holds at most 2 GiB
   * (MAX_EVIDENCE_FILE_BYTES). 0 where the tier has no `evidence` feature.
   */
  maxEvidenceFileBytes: number;
  /** Evidence bytes the tenant may store in all (`null`: unlimited). 0 where the tier has no `evidence` feature. */
  maxEvidenceBytes: number | null;
}

/**
 * A tier's service level objectives (DESIGN §10), per tenant and per cell: the share of requests
 * not answered 5xx, and the latency 99 % of requests must stay under. Both are judged over the
 * rolling budget period in core's metering/slo.ts; the Cell stacks' burn-rate alarms read them too.
 */
export interface SloTargets {
  /** Percent of valid requests (throttled ones excluded) answered without a 5xx: 99.9 means 99.9 %. */
  availabilityPercent: number;
  /** Milliseconds (gateway response latency) under which LATENCY_SLO_PERCENT of requests must complete. */
  p99LatencyMs: number;
}

/** The latency objective is a p99: 99 % of requests under the tier's `p99LatencyMs`. */
export const LATENCY_SLO_PERCENT = 99;

export interface Tier {
  name: TierName;
  placement: Placement;
  throttle: Throttle;
  /** `null` means no quota. */
  quota: Quota | null;
  limits: TierLimits;
  features: readonly Feature[];
  slo: SloTargets;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * The largest evidence file any plan may allow: 2 GiB. One presigned PUT could carry 5 GiB, but a
 * file must also fit a self-service export's ZIP volume, which without ZIP's 64-bit extension (not
 * written by fflate) records sizes in 32 bits; volumes are cut at 2 GiB (exports/export-archive.ts).
 */
export const MAX_EVIDENCE_FILE_BYTES = 2 * GiB;

const BASIC_FEATURES = ['cases', 'notes'] as const satisfies readonly Feature[];
const STANDARD_FEATURES = [...BASIC_FEATURES, 'evidence', 'export'] as const satisfies readonly Feature[];
const PREMIUM_FEATURES = [...STANDARD_FEATURES, 'analytics', 'audit-log'] as const satisfies readonly Feature[];

export const TIERS: Readonly<Record<TierName, Tier>> = {
  basic: {
    name: 'basic',
    placement: 'pooled',
    throttle: { rateLimit: 10, burstLimit: 20 },
    quota: { limit: 10_000, period: 'DAY' },
    limits: { maxActiveCases: 1_000, maxUsers: 5, maxEvidenceFileBytes: 0, maxEvidenceBytes: 0 },
    features: BASIC_FEATURES,
    slo: { availabilityPercent: 99.5, p99LatencyMs: 2_000 },
  },
  standard: {
    name: 'standard',
    placement: 'pooled',
    throttle: { rateLimit: 50, burstLimit: 100 },
    quota: { limit: 100_000, period: 'DAY' },
    limits: { maxActiveCases: 25_000, maxUsers: 50, maxEvidenceFileBytes: 25 * MiB, maxEvidenceBytes: 10 * GiB },
    features: STANDARD_FEATURES,
    slo: { availabilityPercent: 99.9, p99LatencyMs: 1_000 },
  },
  premium: {
    name: 'premium',
    placement: 'pooled',
    throttle: { rateLimit: 200, burstLimit: 400 },
    quota: { limit: 1_000_000, period: 'DAY' },
    limits: { maxActiveCases: 250_000, maxUsers: 500, maxEvidenceFileBytes: 100 * MiB, maxEvidenceBytes: 100 * GiB },
    features: PREMIUM_FEATURES,
    slo: { availabilityPercent: 99.95, p99LatencyMs: 800 },
  },
  enterprise: {
    name: 'enterprise',
    placement: 'dedicated',
    throttle: { rateLimit: 1_000, burstLimit: 2_000 },
    quota: null,
    limits: { maxActiveCases: null, maxUsers: null, maxEvidenceFileBytes: MAX_EVIDENCE_FILE_BYTES, maxEvidenceBytes: null },
    features: FEATURES,
    slo: { availabilityPercent: 99.99, p99LatencyMs: 500 },
  },
};

export function isTierName(value: unknown): value is TierName {
  return typeof value === 'string' && (TIER_NAMES as readonly string[]).includes(value);
}

/**
 * How long API Gateway caches an authorizer decision per token. Both the Cell stack and the local
 * gateway read it, so a suspension behaves the same in both worlds.
 */
export const AUTHORIZER_CACHE_TTL_SECONDS = 60;

/**
 * The file types evidence may have (its declared `Content-Type`, which the presigned upload binds):
 * documents, spreadsheets, presentations, images, plain text, CSV, e-mails and common audio and
 * video — what a case gathers as proof. Left out on purpose: anything a browser or an office suite
 * runs or renders as active content (HTML, SVG, XML, JavaScript, macro-enabled Office formats),
 * executables and archives (which hide any of those), and `application/octet-stream` (a type that
 * says nothing). Downloads are served as attachments anyway; the list is the first line.
 */
export const EVIDENCE_CONTENT_TYPES = [
  'application/pdf',
  'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.ms-powerpoint',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
  'application/rtf',
  'application/json',
  'text/plain',
  'text/csv',
  'message/rfc822',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/heic',
  'image/tiff',
  'audio/mpeg',
  'audio/wav',
  'video/mp4',
  'video/quicktime',
] as const;
export type EvidenceContentType = (typeof EVIDENCE_CONTENT_TYPES)[number];

export function isEvidenceContentType(value: string): value is EvidenceContentType {
  return (EVIDENCE_CONTENT_TYPES as readonly string[]).includes(value);
}
