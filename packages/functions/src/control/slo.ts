import { ledgerTable } from '@cellbook/core/metering/ledger';
import { sloOverview } from '@cellbook/core/metering/slo-overview';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

/** `GET /admin/slo[?at=][&tenantId=]`: tenants and cells burning their error budget, and a tenant's noisy neighbours. */
export const handler = operatorApi(async (request) => ok(await sloOverview(ledgerTable(), request.query)));
