import * as Export from '@cellbook/core/exports/self-service';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

/** GET /exports/{exportId}: the job, and while it is available a short-lived download link per part. */
export const handler = tenantApi(async (request) => ok(await Export.getExport(request.path.exportId)), {
  audit: { action: 'export.download', target: 'export', id: { path: 'exportId' } },
});
