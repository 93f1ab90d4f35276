import { runThroughBroker } from '@cellbook/core/exports/export-broker';
import * as Export from '@cellbook/core/exports/self-service';
import { tenantApi } from '../http/api-handler.js';
import { accepted } from '../http/responses.js';

/** POST /exports: a tenant admin asks for an export of the tenant's data (the body, if any, must be `{}`). */
export const handler = tenantApi(
  async (request) => {
    const job = await Export.requestExport(request.body, runThroughBroker);
    return accepted(job, `/exports/${job.exportId}`);
  },
  { audit: { action: 'export.create', target: 'export', id: { response: 'exportId' } } },
);
