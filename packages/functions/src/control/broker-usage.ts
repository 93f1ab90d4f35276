import * as UsageBroker from '@cellbook/core/metering/usage-broker';
import { iamApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

/** The usage broker: a cell reads what the ledger says of the tenant its signed session belongs to. */
export const handler = iamApi(async (request, caller) => ok(await UsageBroker.brokerUsage(caller, request.path.tenantId ?? '')));
