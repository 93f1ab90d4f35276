import * as Export from '@cellbook/core/exports/self-service';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

/** GET /exports: the tenant's latest exports, newest first. */
export const handler = tenantApi(async () => ok(await Export.listExports()), { audit: { action: 'export.list', target: 'export' } });
