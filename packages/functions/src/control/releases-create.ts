import * as Releases from '@cellbook/core/releases/orchestrator';
import { gateDefaultsFromEnv } from '@cellbook/core/releases/release';
import { operatorApi } from '../http/api-handler.js';
import { created } from '../http/responses.js';

/** `POST /admin/releases`: starts rolling a release out (the driver deploys it, wave by wave). */
export const handler = operatorApi(async (request, operator) => {
  const rollout = await Releases.startRelease(request.body, { actor: operator.username, defaults: gateDefaultsFromEnv() });
  return created(Releases.releaseView(rollout), `/admin/releases/${rollout.releaseId}`);
});
