import * as Offboarding from '@cellbook/core/lifecycle/offboarding';
import { operatorApi } from '../http/api-handler.js';

/**
 * One page of a tenant's export as JSON Lines. `X-Next-Cursor` continues it (absent on the last
 * page); `X-Item-Count` is the number of lines on this page. Its bytes are the tenant's usage.
 */
export const handler = operatorApi(async (request, operator) => {
  const page = await Offboarding.exportPage(request.path.tenantId ?? '', request.query, { requestId: request.requestId, actor: operator.username });
  return {
    statusCode: 200,
    text: page.lines,
    headers: {
      'Content-Type': 'application/x-ndjson; charset=utf-8',
      'X-Item-Count': String(page.count),
      ...(page.nextCursor ? { 'X-Next-Cursor': page.nextCursor } : {}),
    },
  };
});
