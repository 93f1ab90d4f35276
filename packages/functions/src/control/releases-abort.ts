import * as Releases from '@cellbook/core/releases/orchestrator';
import { operatorApi } from '../http/api-handler.js';
import { accepted } from '../http/responses.js';

/** `POST /admin/releases/{releaseId}/abort`: every wave that has the release goes back, last first. */
export const handler = operatorApi(async (request, operator) =>
  accepted(Releases.releaseView(await Releases.stopRelease(request.path.releaseId ?? '', 'abort', request.body, { actor: operator.username }))),
);
