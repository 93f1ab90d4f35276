/**
 * What one request consumed, gathered while it runs: core code says `meter('casesCreated', 1)` where
 * the thing happens, the tenant-scoped DynamoDB clients add the capacity each call consumed, and the
 * data plane's handler writes the total as one usage line when the request ends. Nothing here calls
 * anything: metering can neither slow nor fail a request.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { newId } from '../shared/ids.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { COUNTER_DIMENSIONS, type CounterDimension, type Quantities, type UsageData, type UsageEvent } from './usage-event.js';

/**
 * Floating-point sums of fractional units (0.5 read units, …) may land a hair above a whole number;
 * totals are read to this precision before they are rounded up.
 */
const PRECISION = 1e6;

/** One request's consumption so far, per counter dimension. */
export class RequestUsage {
  private readonly totals = new Map<CounterDimension, number>();

  /** Adds `quantity` (finite, not negative: a usage accumulator only grows) to `dimension`. */
  add(dimension: CounterDimension, quantity: number): void {
    if (!Number.isFinite(quantity) || quantity < 0) throw new RangeError(`a metered quantity is finite and not negative, not ${quantity} (${dimension})`);
    this.totals.set(dimension, (this.totals.get(dimension) ?? 0) + quantity);
  }

  /**
   * The totals in whole units, each rounded up (half a read unit is billed as one): the dimensions
   * that consumed something, in the contract's order.
   */
  quantities(): Quantities {
    const quantities: Quantities = {};
    for (const dimension of COUNTER_DIMENSIONS) {
      const total = this.totals.get(dimension);
      if (total !== undefined && total > 0) quantities[dimension] = Math.ceil(Math.round(total * PRECISION) / PRECISION);
    }
    return quantities;
  }
}

const storage = new AsyncLocalStorage<RequestUsage>();

/** Runs `fn` with `usage` as the current request's accumulator; everything it awaits meters into it. */
export function withRequestUsage<T>(usage: RequestUsage, fn: () => T): T {
  return storage.run(usage, fn);
}

/** The current request's accumulator, or undefined outside a metered request (metering off, control-plane work, tests). */
export function currentRequestUsage(): RequestUsage | undefined {
  return storage.getStore();
}

/**
 * Records that the current request consumed `quantity` of `dimension`. Outside a metered request it
 * does nothing: the same core code runs in the control plane (moves, exports) and in tests, where no
 * tenant is charged.
 */
export function meter(dimension: CounterDimension, quantity: number): void {
  storage.getStore()?.add(dimension, quantity);
}

export type RequestUsageData = Extract<UsageData, { kind: 'request' }>;

export interface RequestUsageInput {
  /** From the tenant context only: never from the request. */
  tenant: Pick<TenantContext, 'tenantId' | 'cellId' | 'tier' | 'username'>;
  /** API Gateway's request id: the access log's `requestId`, so the two records of a request pair up. */
  requestId: string;
  /** `METHOD resourcePath` (`POST /cases/{caseId}/notes`). */
  route: string;
  status: number;
  /** When the gateway received the request (its `requestTimeEpoch`): the hour it is counted in. */
  occurredAt: Date;
  quantities: Quantities;
}

/** The usage event of one request a tenant's function answered; its idempotency key is `request:<requestId>`. */
export function requestUsageEvent(input: RequestUsageInput): UsageEvent<RequestUsageData> {
  return {
    tenantId: input.tenant.tenantId,
    cellId: input.tenant.cellId,
    tier: input.tenant.tier,
    eventId: newId(),
    idempotencyKey: requestIdempotencyKey(input.requestId),
    occurredAt: input.occurredAt.toISOString(),
    actor: input.tenant.username,
    data: { kind: 'request', route: input.route, status: input.status, quantities: input.quantities },
  };
}

/** A request's idempotency key: the same in every delivery of its usage line. */
export function requestIdempotencyKey(requestId: string): string {
  return `request:${requestId}`;
}
