import * as Analytics from '@cellbook/core/analytics/analytics';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = tenantApi(async (request) => ok(await Analytics.report(request.query)), {
  audit: { action: 'analytics.read', target: 'analytics' },
});
