/**
 * The management API for API keys and usage plan keys, as `@aws-sdk/client-api-gateway` calls it:
 * IAM on the HTTP verb and management path, then the operation; plus FlushStageAuthorizersCache.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ownRecord } from '@cellbook/core/shared/own-record';
import type { ApiStage } from '../api-gateway.js';
import { LOCAL_REGION, isAwsError, type Authenticate, type Authorize, type Clock, type RequestListener } from '../types.js';
import { ALPHANUMERIC, randomString, uniqueId, type ApiKeyRecord, type GatewayState, type UsagePlanRecord } from './gateway-state.js';
import { DAY_MS, parseUtcDate, usedInWindow, utcDay } from './quota-windows.js';
import {
  ApiGatewayError,
  badRequest,
  conflict,
  decodePathText,
  epochSeconds,
  notFound,
  optionalBoolean,
  optionalString,
  optionalStringMap,
  paginate,
  parseJsonObject,
  readBody,
  send,
  withoutUndefined,
  type JsonObject,
} from './rest-json.js';

const API_KEY_PATCH_PATHS = ['/name', '/description', '/enabled', '/customerId'];
const INVALID_KEY = 'Invalid API Key identifier specified';
export const INVALID_PLAN = 'Invalid Usage Plan ID specified';
const INVALID_PLAN_KEY = 'Invalid Usage Plan Key identifier specified';

export interface ManagementApiOptions {
  authenticate: Authenticate;
  authorize: Authorize;
  now: Clock;
  /** Saves the state after a call that may have changed it; the call answers once this settles. */
  saved?: () => void | Promise<void>;
}

export function createManagementApi(state: GatewayState, { authenticate, authorize, now, saved = () => undefined }: ManagementApiOptions) {
  const { restApis, apiKeys, keyIdsByValue, usagePlans, buckets, dailyCounts } = state;

  function findKey(id: string): ApiKeyRecord {
    const key = apiKeys.get(id);
    if (!key) throw notFound(INVALID_KEY);
    return key;
  }

  function findPlan(id: string): UsagePlanRecord {
    const plan = usagePlans.get(id);
    if (!plan) throw notFound(INVALID_PLAN);
    return plan;
  }

  function assertNoStageConflict(keyId: string, planId: string, apiStages: ApiStage[]): void {
    for (const other of usagePlans.values()) {
      if (other.id === planId || !other.keyIds.has(keyId)) continue;
      const shared = other.apiStages.find((s) => apiStages.some((t) => t.apiId === s.apiId && t.stage === s.stage));
      if (shared) {
        throw conflict(
          `Usage Plan ${planId} cannot be added because API Key ${keyId} cannot reference multiple Usage Plans with the same API Stage: ${shared.apiId}:${shared.stage}`,
        );
      }
    }
  }

  function createApiKey(body: JsonObject) {
    const value = optionalString(body, 'value');
    if (value !== undefined) {
      if (value.length < 20) throw badRequest('API Key value should be at least 20 characters');
      if (value.length > 128) throw badRequest('API Key value should be at most 128 characters');
      if (keyIdsByValue.has(value)) throw conflict('API Key already exists');
    }
    const createdDate = now();
    const key: ApiKeyRecord = {
      id: uniqueId(10, apiKeys),
      value: value ?? uniqueKeyValue(),
      name: optionalString(body, 'name'),
      description: optionalString(body, 'description'),
      customerId: optionalString(body, 'customerId'),
      // The API's default is a disabled key (CDK and the console pass enabled: true explicitly).
      enabled: optionalBoolean(body, 'enabled') ?? false,
      createdDate,
      lastUpdatedDate: createdDate,
      tags: optionalStringMap(body, 'tags'),
    };
    apiKeys.set(key.id, key);
    keyIdsByValue.set(key.value, key.id);
    return { status: 201, body: apiKeyJson(key, true) };
  }

  function getApiKeys(query: URLSearchParams) {
    const nameQuery = query.get('name') ?? undefined;
    const customerId = query.get('customerId') ?? undefined;
    const includeValues = query.get('includeValues') === 'true';
    const matching = [...apiKeys.values()].filter(
      (key) => (nameQuery === undefined || (key.name ?? '').startsWith(nameQuery)) && (customerId === undefined || key.customerId === customerId),
    );
    const { items, position } = paginate(matching, (key) => key.id, query);
    return { status: 200, body: { item: items.map((key) => apiKeyJson(key, includeValues)), ...(position ? { position } : {}) } };
  }

  function updateApiKey(key: ApiKeyRecord, body: JsonObject) {
    const operations = body.patchOperations ?? [];
    if (!Array.isArray(operations)) throw badRequest('Invalid patch operations');
    // Every operation is validated before any is applied: a bad patch changes nothing.
    const next = { ...key };
    for (const raw of operations as unknown[]) {
      const operation = (typeof raw === 'object' && raw !== null ? raw : {}) as { op?: unknown; path?: unknown; value?: unknown };
      const { op, path, value } = operation;
      if (op !== 'replace' || typeof path !== 'string' || !API_KEY_PATCH_PATHS.includes(path)) {
        throw badRequest(`Invalid patch path '${String(path)}' specified for op '${String(op)}'. Must be one of: [${API_KEY_PATCH_PATHS.join(', ')}]`);
      }
      const text = typeof value === 'string' ? value : undefined;
      switch (path) {
        case '/enabled':
          if (text !== 'true' && text !== 'false') throw badRequest(`Invalid value for enabled: ${String(value)}`);
          next.enabled = text === 'true';
          break;
        case '/name':
          next.name = text;
          break;
        case '/description':
          next.description = text;
          break;
        case '/customerId':
          next.customerId = text;
          break;
      }
    }
    next.lastUpdatedDate = now();
    Object.assign(key, next);
    return { status: 200, body: apiKeyJson(key, false) };
  }

  function deleteApiKey(key: ApiKeyRecord) {
    apiKeys.delete(key.id);
    keyIdsByValue.delete(key.value);
    for (const plan of usagePlans.values()) {
      if (plan.keyIds.delete(key.id)) buckets.delete(`${plan.id}/${key.id}`);
    }
    return { status: 202, body: undefined };
  }

  function getUsagePlans(query: URLSearchParams) {
    const keyId = query.get('keyId') ?? undefined;
    const matching = [...usagePlans.values()].filter((plan) => keyId === undefined || plan.keyIds.has(keyId));
    const { items, position } = paginate(matching, (plan) => plan.id, query);
    return { status: 200, body: { item: items.map(usagePlanJson), ...(position ? { position } : {}) } };
  }

  function createUsagePlanKey(plan: UsagePlanRecord, body: JsonObject) {
    const keyType = optionalString(body, 'keyType');
    if (keyType !== 'API_KEY') throw badRequest(`Invalid key type specified: ${String(keyType)}. Only API_KEY is supported`);
    const keyId = optionalString(body, 'keyId');
    if (keyId === undefined) throw badRequest('Key ID must be specified');
    const key = findKey(keyId);
    if (plan.keyIds.has(key.id)) throw conflict(`Usage Plan Key ${key.id} already exists in Usage Plan ${plan.id}`);
    assertNoStageConflict(key.id, plan.id, plan.apiStages);
    plan.keyIds.add(key.id);
    return { status: 201, body: usagePlanKeyJson(key) };
  }

  function planKey(plan: UsagePlanRecord, keyId: string): ApiKeyRecord {
    const key = apiKeys.get(keyId);
    if (!key || !plan.keyIds.has(keyId)) throw notFound(INVALID_PLAN_KEY);
    return key;
  }

  function deleteUsagePlanKey(plan: UsagePlanRecord, keyId: string) {
    planKey(plan, keyId);
    plan.keyIds.delete(keyId);
    // Dropping the bucket means a key re-attached later starts full, like a key new to the plan.
    buckets.delete(`${plan.id}/${keyId}`);
    return { status: 202, body: undefined };
  }

  function getUsagePlanKeys(plan: UsagePlanRecord, query: URLSearchParams) {
    const nameQuery = query.get('name') ?? undefined;
    const keys = [...plan.keyIds]
      .map((id) => apiKeys.get(id))
      .filter((key): key is ApiKeyRecord => key !== undefined && (nameQuery === undefined || (key.name ?? '').startsWith(nameQuery)));
    const { items, position } = paginate(keys, (key) => key.id, query);
    return { status: 200, body: { item: items.map(usagePlanKeyJson), ...(position ? { position } : {}) } };
  }

  function getUsage(plan: UsagePlanRecord, query: URLSearchParams) {
    const startDate = query.get('startDate');
    const endDate = query.get('endDate');
    if (!startDate || !endDate) throw badRequest('Start date and end date must be specified');
    const start = parseUtcDate(startDate);
    const end = parseUtcDate(endDate);
    if (start === undefined) throw badRequest(`Invalid start date: ${startDate}`);
    if (end === undefined) throw badRequest(`Invalid end date: ${endDate}`);
    if (end < start) throw badRequest('The end date must not be before the start date');
    const keyId = query.get('keyId') ?? undefined;
    const prefix = `${plan.id}/`;
    const recorded = [...dailyCounts.keys()].filter((stateKey) => stateKey.startsWith(prefix)).map((stateKey) => stateKey.slice(prefix.length));
    const keyIds = keyId !== undefined ? [keyId].filter((id) => plan.keyIds.has(id) || recorded.includes(id)) : [...new Set([...plan.keyIds, ...recorded])];
    const { items, position } = paginate(keyIds, (id) => id, query);
    // Keyed by the caller's key ids: no prototype, so a `__proto__` id is a key like any other.
    const values = ownRecord<[number, number][]>();
    for (const id of items) {
      const counts = dailyCounts.get(`${plan.id}/${id}`);
      const series: [number, number][] = [];
      for (let day = start; day <= end; day += DAY_MS) {
        const used = counts?.get(utcDay(day)) ?? 0;
        // Remaining quota at the end of that day; plans without a quota report 0.
        const remaining = plan.quota ? Math.max(0, plan.quota.limit - usedInWindow(counts, plan.quota.period, day)) : 0;
        series.push([used, remaining]);
      }
      values[id] = series;
    }
    return { status: 200, body: { usagePlanId: plan.id, startDate, endDate, values, ...(position ? { position } : {}) } };
  }

  type Response = { status: number; body: unknown };

  const cacheFlushers = new Map<string, () => void>();
  function onAuthorizerCacheFlush(apiId: string, stage: string, flush: () => void): void {
    cacheFlushers.set(`${apiId}/${stage}`, flush);
  }

  /** FlushStageAuthorizersCache: DELETE /restapis/{id}/stages/{stage}/cache/authorizers → 202. */
  function flushAuthorizersCache(apiId: string, stage: string): Response {
    if (!restApis.has(apiId)) throw new ApiGatewayError('NotFoundException', 404, 'Invalid API identifier specified');
    const flush = cacheFlushers.get(`${apiId}/${stage}`);
    if (!flush) throw new ApiGatewayError('NotFoundException', 404, 'Invalid Stage identifier specified');
    flush();
    return { status: 202, body: undefined };
  }

  function route(method: string, segments: string[], query: URLSearchParams, body: JsonObject): Response | undefined {
    if (segments.length === 6 && segments[0] === 'restapis' && segments[2] === 'stages' && segments[4] === 'cache' && segments[5] === 'authorizers') {
      return method === 'DELETE' ? flushAuthorizersCache(segments[1]!, segments[3]!) : undefined;
    }
    const [collection, id, sub, subId, ...rest] = segments;
    if (rest.length > 0) return undefined;
    if (collection === 'apikeys' && sub === undefined) {
      if (id === undefined) {
        if (method === 'POST') return createApiKey(body);
        if (method === 'GET') return getApiKeys(query);
        return undefined;
      }
      if (method === 'GET') return { status: 200, body: apiKeyJson(findKey(id), query.get('includeValue') === 'true') };
      if (method === 'PATCH') return updateApiKey(findKey(id), body);
      if (method === 'DELETE') return deleteApiKey(findKey(id));
      return undefined;
    }
    if (collection === 'usageplans') {
      if (id === undefined) return method === 'GET' ? getUsagePlans(query) : undefined;
      if (sub === undefined) return method === 'GET' ? { status: 200, body: usagePlanJson(findPlan(id)) } : undefined;
      if (sub === 'keys' && subId === undefined) {
        if (method === 'POST') return createUsagePlanKey(findPlan(id), body);
        if (method === 'GET') return getUsagePlanKeys(findPlan(id), query);
        return undefined;
      }
      if (sub === 'keys' && subId !== undefined) {
        if (method === 'GET') return { status: 200, body: usagePlanKeyJson(planKey(findPlan(id), subId)) };
        if (method === 'DELETE') return deleteUsagePlanKey(findPlan(id), subId);
        return undefined;
      }
      if (sub === 'usage' && subId === undefined && method === 'GET') return getUsage(findPlan(id), query);
    }
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://apigateway.local');
    const caller = await authenticate({ method, url: req.url ?? '/', headers: req.headers, body, service: 'apigateway' });
    if (isAwsError(caller)) throw new ApiGatewayError(caller.code, caller.status, caller.message);

    // API Gateway's IAM model: the action is the HTTP verb, the resource is the management path.
    const action = `apigateway:${method}`;
    const segments = url.pathname.split('/').filter(Boolean).map(decodePathText);
    const resource = `arn:aws:apigateway:${LOCAL_REGION}::${decodePathText(url.pathname)}`;
    const decision = await authorize(caller, { action, resource });
    if (!decision.allowed) {
      throw new ApiGatewayError(
        'AccessDeniedException',
        403,
        `User: ${caller.assumedRoleArn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
      );
    }

    let response: Response | undefined;
    try {
      response = route(method, segments, url.searchParams, method === 'POST' || method === 'PATCH' ? parseJsonObject(body) : {});
    } finally {
      // Anything but a read may have changed keys or plans (a refused one too, half-way): the answer
      // waits until that is on disk, so a caller that saw it succeed finds it after a crash.
      if (method !== 'GET') await saved();
    }
    if (!response) throw new ApiGatewayError('UnknownOperationException', 404, `No operation matches ${method} ${url.pathname}`);
    send(res, response.status, response.body);
  }

  const listener: RequestListener = (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof ApiGatewayError) {
        send(res, error.status, { message: error.message }, error.type);
        return;
      }
      // An unexpected failure is our bug; the caller gets the service's generic 500, never the detail.
      send(res, 500, { message: 'Internal server error' }, 'InternalFailure');
    });
  };

  function uniqueKeyValue(): string {
    let value = randomString(40, ALPHANUMERIC);
    while (keyIdsByValue.has(value)) value = randomString(40, ALPHANUMERIC);
    return value;
  }

  return { listener, onAuthorizerCacheFlush, assertNoStageConflict };
}

export function apiKeyJson(key: ApiKeyRecord, includeValue: boolean): JsonObject {
  return withoutUndefined({
    id: key.id,
    value: includeValue ? key.value : undefined,
    name: key.name,
    customerId: key.customerId,
    description: key.description,
    enabled: key.enabled,
    createdDate: epochSeconds(key.createdDate),
    lastUpdatedDate: epochSeconds(key.lastUpdatedDate),
    stageKeys: [],
    tags: key.tags,
  });
}

export function usagePlanJson(plan: UsagePlanRecord): JsonObject {
  return withoutUndefined({
    id: plan.id,
    name: plan.name,
    description: plan.description,
    apiStages: plan.apiStages,
    throttle: plan.throttle && { burstLimit: plan.throttle.burstLimit, rateLimit: plan.throttle.rateLimit },
    quota: plan.quota && { limit: plan.quota.limit, offset: 0, period: plan.quota.period },
  });
}

export function usagePlanKeyJson(key: ApiKeyRecord): JsonObject {
  return withoutUndefined({ id: key.id, type: 'API_KEY', value: key.value, name: key.name });
}
