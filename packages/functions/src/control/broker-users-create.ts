import * as IdentityBroker from '@cellbook/core/users/identity-broker';
import { iamApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { created } from '../http/responses.js';

/** The identity broker: a cell invites a user into the tenant its signed session belongs to. */
export const handler = iamApi(async (request, caller) => created(await IdentityBroker.brokerInvite(caller, request.path.tenantId ?? '', requireBody(request))));
