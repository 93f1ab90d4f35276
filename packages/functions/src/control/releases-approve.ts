import * as Releases from '@cellbook/core/releases/orchestrator';
import { operatorApi } from '../http/api-handler.js';
import { accepted } from '../http/responses.js';

/** `POST /admin/releases/{releaseId}/approve`: a release held before its dedicated wave goes on. */
export const handler = operatorApi(async (request, operator) =>
  accepted(Releases.releaseView(await Releases.releaseHold(request.path.releaseId ?? '', { actor: operator.username }))),
);
