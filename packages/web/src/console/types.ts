/**
 * The operator API's answers as the console reads them (README "HTTP API", operator rows; the
 * handlers in packages/functions/src/control and the records in packages/core). Only the fields the
 * console shows are typed; the API may send more.
 */
export type TierName = 'basic' | 'standard' | 'premium' | 'enterprise';
export const TIERS: readonly TierName[] = ['basic', 'standard', 'premium', 'enterprise'];

export type TenantStatus = 'PENDING' | 'ACTIVE' | 'SUSPENDED' | 'OFFBOARDED';
export const TENANT_STATUSES: readonly TenantStatus[] = ['PENDING', 'ACTIVE', 'SUSPENDED', 'OFFBOARDED'];

export type MoveState = 'REQUESTED' | 'FROZEN' | 'COPIED' | 'VERIFIED' | 'SWITCHED' | 'DONE' | 'FAILED';
/** The order a move goes through (core/tenants/record.ts), FAILED aside. */
export const MOVE_STEPS: readonly MoveState[] = ['REQUESTED', 'FROZEN', 'COPIED', 'VERIFIED', 'SWITCHED', 'DONE'];

export function isMoveFinal(state: string | undefined): boolean {
  return state === 'DONE' || state === 'FAILED';
}

export interface TenantMove {
  moveId: string;
  fromCellId: string;
  toCellId: string;
  state: MoveState;
  toTier?: TierName;
  actor: string;
  reason?: string;
  requestedAt: string;
  updatedAt: string;
  copied?: { count: number; checksum: string };
  copyProgress?: { items: number; at: string };
  finishedAt?: string;
  error?: string;
}

export interface Tenant {
  tenantId: string;
  name: string;
  tier: TierName;
  status: TenantStatus;
  cellId: string | null;
  previousCellId?: string;
  overrides: Record<string, unknown>;
  adminUsername: string;
  createdAt: string;
  updatedAt: string;
  move?: TenantMove;
  synthetic?: true;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface OnboardedTenant {
  tenantId: string;
  name: string;
  tier: TierName;
  status: TenantStatus;
  cellId: string | null;
  admin: { username: string; temporaryPassword: string };
}

export interface AuditEntry {
  auditId?: string;
  at: string;
  actor: string;
  action: string;
  reason?: string;
  before?: unknown;
  after?: unknown;
}

export interface Money {
  usd: string;
  micros: number;
}

export interface Economics {
  cost: Money;
  fixedCostShare: Money;
  revenue: Money;
  margin: Money;
  marginPercent: number | null;
  costPerActiveCase: Money | null;
  costPer1000Calls: Money | null;
}

export interface Quantities {
  apiRequests: number;
  casesCreated: number;
  notesCreated: number;
  readUnits: number;
  writeUnits: number;
  functionGbMs: number;
  exportBytes: number;
}

export interface Gauges {
  activeCases?: number;
  users?: number;
  storageBytes?: number;
}

export interface TenantUsage {
  tenantId: string;
  tier: TierName;
  range: { from: string; to: string; granularity: 'hour' | 'day' };
  series: { period: string; quantities: Quantities; gateway: { requests: number; throttled: number; serverErrors: number } }[];
  totals: { quantities: Quantities; gauges: Gauges; requestsByRoute: Record<string, number> };
  economics: Economics;
}

export interface UsageReport {
  range: { from: string; to: string; granularity: string };
  groupBy: 'tenant' | 'tier' | 'cell';
  sort: string;
  top: number;
  groups: number;
  items: { key: string; tenants: number; quantities: Quantities; gauges: Gauges; economics: Economics }[];
}

export type CellStatus = 'active' | 'draining' | 'provisioning';

export interface Cell {
  cellId: string;
  placement: 'pooled' | 'dedicated';
  wave: number;
  region: string;
  capacity: number;
  status: CellStatus;
  tenantCount: number;
  release?: { releaseId: string; previousReleaseId: string | null; since: string };
}

export interface DrainResult {
  cellId: string;
  moves: (TenantMove & { tenantId: string })[];
  skipped: { tenantId: string; code: string; message: string }[];
}

export interface GateFigures {
  observedAt: string;
  requests: number;
  serverErrors: number;
  serverErrorRate: number;
  p99LatencyMs: number | null;
  functionErrors: number;
  functionThrottles: number;
  alarms: { name?: string; state?: string }[];
  probes: { passed: number; failed: number };
}

export interface Rollout {
  releaseId: string;
  commit: string;
  status: 'rolling-out' | 'rolling-back' | 'finished' | 'halted' | 'aborted' | 'rolled-back' | 'rollback-failed';
  waves: {
    index: number;
    kind: 'canary' | 'pooled' | 'dedicated';
    state: string;
    cells: { cellId: string; previousReleaseId: string | null; deployedAt?: string; rolledBackAt?: string; gate?: GateFigures }[];
    deployedAt?: string;
    promotedAt?: string;
    rolledBackAt?: string;
    verdict?: string;
  }[];
  actor: string;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  reason?: string;
  hold?: 'dedicated';
}

export interface SliStatus {
  objectivePercent: number;
  /** Burn rate per alerting window (`5m`, `1h`, `6h`, …). */
  burnRates: Record<string, number>;
  alerts: unknown[];
  /** Share of the budget left: 1 untouched, 0 spent, negative overspent. */
  budgetRemaining: number;
}

export interface SloSubject {
  tier: TierName;
  availability: SliStatus;
  latency: SliStatus;
  traffic: { requests: number; serverErrors: number; errorRate: number };
}

export interface NeighbourTraffic {
  tenantId: string;
  tier: TierName;
  requests: number;
  serverErrors: number;
  errorRate: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface SloReport {
  /** With `?tenantId=`: that tenant's traffic next to each other tenant of each cell that served it. */
  neighbours?: { tenantId: string; window: { from: string; to: string }; cells: { cellId: string; tenant: NeighbourTraffic; neighbours: NeighbourTraffic[] }[] };
  at: string;
  budgetDays: number;
  tenants: (SloSubject & { tenantId: string; cellIds: string[] })[];
  cells: (SloSubject & { cellId: string; tenants: number })[];
}

/**
 * What each plan allows (mirrors core/tenancy/tiers.ts, which the browser bundle does not import:
 * core pulls in the AWS SDK). `null` is unlimited. Used only to draw usage against the plan.
 */
export const PLAN_LIMITS: Readonly<Record<TierName, { requestsPerDay: number | null; activeCases: number | null; users: number | null; storageBytes: number | null }>> = {
  basic: { requestsPerDay: 10_000, activeCases: 1_000, users: 5, storageBytes: 0 },
  standard: { requestsPerDay: 100_000, activeCases: 25_000, users: 50, storageBytes: 10 * 1024 ** 3 },
  premium: { requestsPerDay: 1_000_000, activeCases: 250_000, users: 500, storageBytes: 100 * 1024 ** 3 },
  enterprise: { requestsPerDay: null, activeCases: null, users: null, storageBytes: null },
};
