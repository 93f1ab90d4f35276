import * as Releases from '@cellbook/core/releases/orchestrator';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

/** `GET /admin/releases/{releaseId}`: its waves, each cell's state and what each gate saw. */
export const handler = operatorApi(async (request) => ok(await Releases.getRelease(request.path.releaseId ?? '')));
