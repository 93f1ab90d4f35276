import * as IdentityBroker from '@cellbook/core/users/identity-broker';
import { iamApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { noContent } from '../http/responses.js';

/** The identity broker: a cell gives a user of the tenant its signed session belongs to another role. */
export const handler = iamApi(async (request, caller) => {
  await IdentityBroker.brokerChangeRole(caller, request.path.tenantId ?? '', request.path.username ?? '', requireBody(request));
  return noContent();
});
