import * as Analytics from '@cellbook/core/analytics/analytics';
import { tenantApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { ok } from '../http/responses.js';

export const handler = tenantApi(async (request) => ok(await Analytics.updateSettings(requireBody(request))), {
  audit: { action: 'analytics.settings-update', target: 'analytics' },
});
