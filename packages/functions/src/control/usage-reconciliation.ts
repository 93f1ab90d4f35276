import { reconciliationReport } from '@cellbook/core/metering/reconciliation';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

/** `GET /admin/usage/reconciliation`: metered requests against the gateway's, per tenant and hour. */
export const handler = operatorApi(async (request) => ok(await reconciliationReport(request.query)));
