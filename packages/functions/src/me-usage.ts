import * as PlanUsage from '@cellbook/core/metering/plan-usage';
import { tenantApi } from './http/api-handler.js';
import { ok } from './http/responses.js';

/** The tenant's usage against its plan: today's requests vs quota, active cases, users and storage. */
export const handler = tenantApi(async () => ok(await PlanUsage.planUsage()));
