/**
 * The export broker (DESIGN §13's pattern): how a cell has the control plane run one of its
 * tenant's exports without any right of its own on the control plane. The cell calls
 * `POST /broker/tenants/{tenantId}/exports` signed with the tenant's session, and
 *   1. IAM lets that session invoke only its own tenant's path (`exportBrokerInvokePolicy`), and
 *   2. the broker checks the caller again (`authorizeCaller`: a cell's tenant session named after the
 *      tenant, which is ACTIVE and placed in that very cell) and the tenant's plan from the registry
 *      (a compromised cell cannot export for a tenant whose plan has no export), then publishes
 *      `TenantExportRequested` for the exporter.
 */
import * as z from 'zod/mini';
import { TENANT_TAG_KEY } from '../access/tenant-access-policy.js';
import { publishTenantEvent } from '../events/events.js';
import { isUlid } from '../keys/keys.js';
import { FeatureNotEntitled } from '../shared/errors.js';
import { parse } from '../shared/validation.js';
import { resolveEntitlements } from '../tenancy/entitlements.js';
import { useTenant } from '../tenancy/tenant-context.js';
import { getRecord } from '../tenants/tenant.js';
import { type BrokerCaller, authorizeCaller, brokerRequest, errorCode } from '../users/identity-broker.js';

export const BROKER_EXPORTS_PATH = '/broker/tenants/{tenantId}/exports';

export interface ExportBrokerPolicyDocument {
  Version: '2012-10-17';
  Statement: [{ Sid: 'OwnTenantExportsThroughBroker'; Effect: 'Allow'; Action: 'execute-api:Invoke'; Resource: string }];
}

/** What a tenant session may ask of the exporter: its own tenant's exports route, nothing else. */
export function exportBrokerInvokePolicy({ apiStageArn }: { apiStageArn: string }): ExportBrokerPolicyDocument {
  const exports = BROKER_EXPORTS_PATH.replace('{tenantId}', `\${aws:PrincipalTag/${TENANT_TAG_KEY}}`);
  return {
    Version: '2012-10-17',
    // One action and one resource as strings: CloudFormation keeps them so, and the stack proof compares verbatim.
    Statement: [{ Sid: 'OwnTenantExportsThroughBroker', Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${apiStageArn}/POST${exports}` }],
  };
}

export const BrokerExportInput = z.strictObject({
  exportId: z.string().check(z.refine(isUlid, 'exportId must be a 26-character export id')),
  requestedBy: z.string().check(z.minLength(1), z.maxLength(254)),
});

/** POST /broker/tenants/{tenantId}/exports: the calling cell's own tenant, on a plan with export. */
export async function brokerRequestExport(caller: BrokerCaller, pathTenantId: string, input: unknown): Promise<{ exportId: string }> {
  const { tenantId, cellId } = await authorizeCaller(caller, pathTenantId);
  const { exportId, requestedBy } = parse(BrokerExportInput, input);
  const record = await getRecord(tenantId);
  if (!record || !resolveEntitlements(record.tier, record.overrides).features.includes('export')) {
    throw new FeatureNotEntitled('Your plan does not include the "export" feature.');
  }
  await publishTenantEvent('TenantExportRequested', {
    tenantId,
    cellId,
    tier: record.tier,
    actor: requestedBy,
    idempotencyKey: `export:${exportId}`,
    data: { exportId },
  });
  return { exportId };
}

/** The cell's side: asks the broker to run the current tenant's export, signed as the tenant. */
export async function runThroughBroker(exportId: string): Promise<void> {
  const { tenantId, username } = useTenant();
  const response = await brokerRequest('POST', BROKER_EXPORTS_PATH.replace('{tenantId}', tenantId), { exportId, requestedBy: username });
  if (response.status !== 202) throw new Error(`export broker refused: ${response.status} ${errorCode(response.body) ?? ''}`);
}
