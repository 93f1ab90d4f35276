import * as UsageReport from '@cellbook/core/metering/usage-report';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

/** A tenant's usage series (its cells summed per period), totals, cost and margin over `from`–`to`. */
export const handler = operatorApi(async (request) => ok(await UsageReport.tenantReport(request.path.tenantId ?? '', request.query)));
