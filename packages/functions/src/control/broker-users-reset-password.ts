import * as IdentityBroker from '@cellbook/core/users/identity-broker';
import { iamApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

/** The identity broker: a cell resets the password of (or re-invites) a user of the tenant its signed session belongs to. */
export const handler = iamApi(async (request, caller) => ok(await IdentityBroker.brokerResetPassword(caller, request.path.tenantId ?? '', request.path.username ?? '')));
