import * as Releases from '@cellbook/core/releases/orchestrator';
import { operatorApi } from '../http/api-handler.js';
import { accepted } from '../http/responses.js';

/** `POST /admin/releases/{releaseId}/rollback`: a finished release goes back, wave by wave in reverse. */
export const handler = operatorApi(async (request, operator) =>
  accepted(Releases.releaseView(await Releases.stopRelease(request.path.releaseId ?? '', 'rollback', request.body, { actor: operator.username }))),
);
