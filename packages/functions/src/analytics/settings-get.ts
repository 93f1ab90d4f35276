import * as Analytics from '@cellbook/core/analytics/analytics';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = tenantApi(async () => ok(await Analytics.settings()), {
  audit: { action: 'analytics.settings-read', target: 'analytics' },
});
