/**
 * The usage broker (DESIGN §10, §13): how a cell learns what the ledger says about one of its
 * tenants without reaching the control plane's tables — a compromised cell must not read them. The
 * cell calls `GET /broker/tenants/{tenantId}/usage` signed with the tenant's own session, exactly
 * as it calls the identity broker:
 *   1. IAM lets that session invoke only its own tenant's path (`usageBrokerInvokePolicy`, fenced
 *      by `${aws:PrincipalTag/TenantId}`), and
 *   2. the control plane checks the caller again (`authorizeCaller`: a cell's tenant session named
 *      after the tenant, which is ACTIVE and placed in that very cell) before it reads the ledger.
 * The answer is the tenant's own figures only: today's metered requests and its latest storage.
 */
import { TENANT_TAG_KEY } from '../access/tenant-access-policy.js';
import { useTenant } from '../tenancy/tenant-context.js';
import { type BrokerCaller, authorizeCaller, brokerRequest, errorCode } from '../users/identity-broker.js';
import { type LedgerTable, ledgerTable, tenantUsage } from './ledger.js';

export const BROKER_USAGE_PATH = '/broker/tenants/{tenantId}/usage';

export interface UsageBrokerPolicyDocument {
  Version: '2012-10-17';
  Statement: [{ Sid: 'OwnTenantUsageThroughBroker'; Effect: 'Allow'; Action: 'execute-api:Invoke'; Resource: string }];
}

/**
 * What a tenant session may read of the ledger: its own tenant's usage route and nothing else. Used
 * verbatim by the Cell stack and by the local platform, beside the identity broker's policy.
 */
export function usageBrokerInvokePolicy({ apiStageArn }: { apiStageArn: string }): UsageBrokerPolicyDocument {
  const usage = BROKER_USAGE_PATH.replace('{tenantId}', `\${aws:PrincipalTag/${TENANT_TAG_KEY}}`);
  return {
    Version: '2012-10-17',
    // One action and one resource as strings: CloudFormation keeps them so, and the stack proof compares verbatim.
    Statement: [{ Sid: 'OwnTenantUsageThroughBroker', Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${apiStageArn}/GET${usage}` }],
  };
}

/** What the ledger says of a tenant's day, as the broker answers it. */
export interface TenantDayUsage {
  tenantId: string;
  /** The UTC day, `2026-12-03`. */
  day: string;
  /** Requests metered today (UTC), every cell summed. */
  apiRequests: number;
  /** The latest hourly snapshot's storage (within the last two days), or null before the first one. */
  storageBytes: number | null;
  /** The hour of that snapshot, `2026-12-03T14`. */
  storageMeasuredIn: string | null;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** GET /broker/tenants/{tenantId}/usage: the calling cell's own tenant only. */
export async function brokerUsage(caller: BrokerCaller, pathTenantId: string, options: { now?: Date; ledger?: LedgerTable } = {}): Promise<TenantDayUsage> {
  const { tenantId } = await authorizeCaller(caller, pathTenantId);
  return tenantDayUsage(options.ledger ?? ledgerTable(), tenantId, options.now ?? new Date());
}

export async function tenantDayUsage(ledger: LedgerTable, tenantId: string, now: Date): Promise<TenantDayUsage> {
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const to = new Date(Math.ceil((now.getTime() + 1) / HOUR_MS) * HOUR_MS);
  const rows = await tenantUsage(ledger, tenantId, { from: new Date(today - DAY_MS), to }, 'hour');
  const day = new Date(today).toISOString().slice(0, 10);
  let apiRequests = 0;
  let latest: { period: string; bytes: number } | undefined;
  for (const row of rows) {
    if (row.period.startsWith(day)) apiRequests += row.quantities.apiRequests ?? 0;
    const bytes = row.gauges.storageBytes;
    if (bytes !== undefined && (!latest || row.period > latest.period)) latest = { period: row.period, bytes };
  }
  return { tenantId, day, apiRequests, storageBytes: latest?.bytes ?? null, storageMeasuredIn: latest?.period ?? null };
}

/** The cell's side: the current tenant's day, through the broker, signed as the tenant. */
export async function usageThroughBroker(): Promise<TenantDayUsage> {
  const { tenantId } = useTenant();
  const response = await brokerRequest('GET', BROKER_USAGE_PATH.replace('{tenantId}', tenantId));
  const body = response.body as Partial<TenantDayUsage> | undefined;
  if (response.status !== 200 || body?.tenantId !== tenantId || typeof body.apiRequests !== 'number') {
    throw new Error(`usage broker refused: ${response.status} ${errorCode(response.body) ?? ''}`);
  }
  return {
    tenantId,
    day: String(body.day),
    apiRequests: body.apiRequests,
    storageBytes: typeof body.storageBytes === 'number' ? body.storageBytes : null,
    storageMeasuredIn: typeof body.storageMeasuredIn === 'string' ? body.storageMeasuredIn : null,
  };
}
