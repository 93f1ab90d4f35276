/**
 * The routing map (tenant → cell) as the control plane sees it. The registry record's `cellId` is
 * the source of truth; `TenantRoutingChanged` tells the router's side to follow it — in AWS a
 * writer puts the entry into the CloudFront KeyValueStore, locally the router drops its cached
 * route. The control plane then checks, through the router itself, that the tenant reaches the
 * intended cell before it relies on the change.
 */
import * as Events from '../events/events.js';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { optionalEnv, requireEnv } from '../shared/config.js';
import { RoutingNotReady } from '../shared/errors.js';
import { retry } from '../shared/retry.js';
import type { TierName } from '../tenancy/tiers.js';

export interface RouteChange {
  tenantId: string;
  tier: TierName;
  /** The tenant's cell from now on; null when the tenant leaves (offboarded). */
  cellId: string | null;
  previousCellId: string | null;
  actor: string;
}

export async function announceRoute(change: RouteChange): Promise<void> {
  await Events.publishTenantEvent('TenantRoutingChanged', {
    tenantId: change.tenantId,
    cellId: change.cellId,
    tier: change.tier,
    actor: change.actor,
    data: { cellId: change.cellId, previousCellId: change.previousCellId },
    idempotencyKey: `TenantRoutingChanged#${change.tenantId}#${change.previousCellId ?? '-'}#${change.cellId ?? '-'}`,
  });
}

/** How long onboarding and moves wait for a route to take effect before answering 503 (retry). */
export const ROUTE_WAIT_MS = 8_000;

export interface RoutingProbeOptions {
  /** How long to wait for the route to take effect (KeyValueStore propagation in AWS). */
  timeoutMs?: number;
  intervalMs?: number;
}

let routerUrl: Promise<string> | undefined;

/**
 * The router's base URL: `ROUTER_URL`, or the SSM parameter `ROUTER_URL_PARAMETER` names. In AWS
 * the router (CloudFront) is created after the control plane, which therefore cannot be given its
 * address at deploy time; the Router stack publishes it in that parameter.
 */
export function routerBaseUrl(): Promise<string> {
  routerUrl ??= (async () => {
    const direct = optionalEnv('ROUTER_URL');
    if (direct) return direct;
    const name = requireEnv('ROUTER_URL_PARAMETER');
    const { Parameter } = await new SSMClient({}).send(new GetParameterCommand({ Name: name }));
    if (!Parameter?.Value) throw new Error(`SSM parameter ${name} has no value`);
    return Parameter.Value;
  })().catch((error: unknown) => {
    routerUrl = undefined;
    throw error;
  });
  return routerUrl;
}

/** Where a probe for this tenant lands through the router: the answering cell's id. */
export async function probe(tenantId: string): Promise<string | undefined> {
  const url = new URL('/health', await routerBaseUrl());
  url.searchParams.set('tenant', tenantId);
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (response.status !== 200) return undefined;
  const body = (await response.json()) as { cellId?: unknown };
  return typeof body.cellId === 'string' ? body.cellId : undefined;
}

/**
 * Waits until the router sends the tenant to `cellId` and that cell answers its health check.
 * Throws `RoutingNotReady` (retryable) if it does not happen in time.
 */
export async function waitUntilRouted(tenantId: string, cellId: string, options: RoutingProbeOptions = {}): Promise<void> {
  let landed: string | undefined;
  const notYet = (errorOptions?: ErrorOptions) =>
    new RoutingNotReady(`The router does not send tenant ${tenantId} to ${cellId} yet (it reached ${landed ?? 'no cell'}).`, errorOptions);
  try {
    await retry(
      async () => {
        landed = undefined;
        landed = await probe(tenantId);
        if (landed !== cellId) throw notYet();
      },
      {
        // A failed probe (a cell restarting, a connection reset) is retried too: the next probe decides.
        retryable: (error) => error instanceof Error,
        deadline: Date.now() + (options.timeoutMs ?? ROUTE_WAIT_MS),
        baseDelayMs: options.intervalMs ?? 50,
        maxDelayMs: 1_000,
        // No jitter: a poll for a route to take effect, where no other caller's timing matters.
        jitter: 'none',
      },
    );
  } catch (error) {
    if (error instanceof Error && !(error instanceof RoutingNotReady)) throw notYet({ cause: error });
    throw error;
  }
}
