import * as Releases from '@cellbook/core/releases/orchestrator';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

/** `GET /admin/releases`: every rollout, newest first, paginated. */
export const handler = operatorApi(async (request) => ok(await Releases.listReleases(request.query)));
