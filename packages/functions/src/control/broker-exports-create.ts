import * as ExportBroker from '@cellbook/core/exports/export-broker';
import { iamApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { accepted } from '../http/responses.js';

/** The export broker: a cell has the export of the tenant its signed session belongs to run. */
export const handler = iamApi(async (request, caller) => accepted(await ExportBroker.brokerRequestExport(caller, request.path.tenantId ?? '', requireBody(request))));
