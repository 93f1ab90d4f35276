import { Cell } from '@cellbook/core';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = operatorApi(async () => {
  const cells = await Cell.list();
  return ok({
    items: cells.map(({ cellId, placement, wave, region, capacity, status, tenantCount }) => ({
      cellId,
      placement,
      wave,
      region,
      capacity,
      status,
      tenantCount,
    })),
  });
});
