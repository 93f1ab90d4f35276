import * as IdentityBroker from '@cellbook/core/users/identity-broker';
import { iamApi } from '../http/api-handler.js';
import { noContent } from '../http/responses.js';

/** The identity broker: a cell signs a user of the tenant its signed session belongs to out everywhere. */
export const handler = iamApi(async (request, caller) => {
  await IdentityBroker.brokerSignOut(caller, request.path.tenantId ?? '', request.path.username ?? '');
  return noContent();
});
