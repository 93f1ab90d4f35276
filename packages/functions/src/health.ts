import { requireEnv } from '@cellbook/core/shared/config';
import { publicApi } from './http/api-handler.js';
import { ok } from './http/responses.js';

/**
 * The cell's health check: which cell answered. The control plane probes it through the router
 * (`/health?tenant=<id>`) to see that a tenant's route leads to the cell it was placed in. It reads
 * no tenant data and needs no token.
 */
export const handler = publicApi(async () => ok({ cellId: requireEnv('CELL_ID'), status: 'ok' }));
