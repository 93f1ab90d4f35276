/**
 * Local API Gateway (REST, v1): the management API for API keys and usage plans, speaking the
 * REST-JSON protocol of `@aws-sdk/client-api-gateway`, plus the usage-plan metering the data path
 * applies after the authorizer (per-key token bucket and quota window).
 *
 * What CloudFormation would create (REST APIs, usage plans) is created programmatically; what the
 * control plane does at run time (API keys, usage plan keys) goes through the management API.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ownRecord, parseJsonOwn } from '@cellbook/core/shared/own-record';
import { LOCAL_REGION, isAwsError, systemClock, type Authenticate, type Authorize, type Clock, type RequestListener } from './types.js';

export type QuotaPeriod = 'DAY' | 'WEEK' | 'MONTH';

export interface ThrottleSettings {
  /** Steady-state requests per second: the bucket's refill rate. */
  rateLimit: number;
  /** Bucket capacity: how many requests may arrive at once. */
  burstLimit: number;
}

export interface QuotaSettings {
  limit: number;
  period: QuotaPeriod;
  /** Only 0 is supported: windows start at the calendar boundary. */
  offset?: 0;
}

export interface ApiStage {
  apiId: string;
  stage: string;
}

export interface CreateUsagePlanInput {
  name: string;
  description?: string;
  apiStages: ApiStage[];
  /** Without throttle settings, requests under this plan are not rate limited. */
  throttle?: ThrottleSettings;
  /** Without a quota, requests under this plan are not counted against a limit. */
  quota?: QuotaSettings;
}

export interface UsagePlanPatch {
  name?: string;
  description?: string;
  apiStages?: ApiStage[];
  /** `null` removes the setting. */
  throttle?: ThrottleSettings | null;
  quota?: QuotaSettings | null;
}

export interface MeterRequest {
  apiId: string;
  stage: string;
  /** The key value the authorizer returned as usageIdentifierKey (or the x-api-key header). */
  apiKeyValue: string | undefined;
}

export type MeterOutcome = { outcome: 'allowed' } | { outcome: 'forbidden' } | { outcome: 'throttled' } | { outcome: 'quota-exceeded' };

export interface KeyUsage {
  usagePlanId: string;
  /** Requests counted in the current window (the quota period, or the UTC day without a quota). */
  used: number;
  /** `null` when the plan has no quota. */
  remaining: number | null;
  /** Epoch ms at which the window, and with it `used`, resets. */
  windowEndsAt: number;
}

export interface LocalApiGatewayOptions {
  authenticate: Authenticate;
  authorize: Authorize;
  now?: Clock;
}

export interface LocalApiGateway {
  listener: RequestListener;
  createRestApi(name: string): { id: string };
  createUsagePlan(input: CreateUsagePlanInput): { id: string };
  updateUsagePlan(id: string, patch: UsagePlanPatch): void;
  meter(request: MeterRequest): MeterOutcome;
  /**
   * Usage of a key in the current window of its usage plan; `undefined` when the key is in no plan.
   * A key in several plans (for different API stages) needs `usagePlanId` to say which.
   */
  usage(apiKeyId: string, usagePlanId?: string): KeyUsage | undefined;
  /** Subscribes a stage's gateway to `FlushStageAuthorizersCache` calls for it. */
  onAuthorizerCacheFlush(apiId: string, stage: string, flush: () => void): void;
}

interface ApiKeyRecord {
  id: string;
  value: string;
  name: string | undefined;
  description: string | undefined;
  customerId: string | undefined;
  enabled: boolean;
  createdDate: number;
  lastUpdatedDate: number;
  tags: Record<string, string> | undefined;
}

interface UsagePlanRecord {
  id: string;
  name: string;
  description: string | undefined;
  apiStages: ApiStage[];
  throttle: ThrottleSettings | undefined;
  quota: QuotaSettings | undefined;
  keyIds: Set<string>;
}

/** Token bucket in milli-tokens: with a millisecond clock and integer rates, refill is exact integer arithmetic. */
interface Bucket {
  milliTokens: number;
  refilledAt: number;
}

type JsonObject = Record<string, unknown>;

class ApiGatewayError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (message: string) => new ApiGatewayError('NotFoundException', 404, message);
const badRequest = (message: string) => new ApiGatewayError('BadRequestException', 400, message);
const conflict = (message: string) => new ApiGatewayError('ConflictException', 409, message);

const DAY_MS = 86_400_000;
const DEFAULT_PAGE_SIZE = 25;
const MAX_PAGE_SIZE = 500;
const LOWER_ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const API_KEY_PATCH_PATHS = ['/name', '/description', '/enabled', '/customerId'];
const INVALID_KEY = 'Invalid API Key identifier specified';
const INVALID_PLAN = 'Invalid Usage Plan ID specified';
const INVALID_PLAN_KEY = 'Invalid Usage Plan Key identifier specified';

export function createLocalApiGateway(options: LocalApiGatewayOptions): LocalApiGateway {
  const { authenticate, authorize, now = systemClock } = options;
  const restApis = new Map<string, { id: string; name: string }>();
  const apiKeys = new Map<string, ApiKeyRecord>();
  const keyIdsByValue = new Map<string, string>();
  const usagePlans = new Map<string, UsagePlanRecord>();
  /** `${planId}/${keyId}` → bucket; a key's bucket belongs to its membership in one plan. */
  const buckets = new Map<string, Bucket>();
  /** `${planId}/${keyId}` → UTC day (YYYY-MM-DD) → requests counted. Source of both quota and GetUsage. */
  const dailyCounts = new Map<string, Map<string, number>>();

  // ── deployment (what CloudFormation would create) ────────────────────────────────────────────

  function createRestApi(name: string): { id: string } {
    const id = uniqueId(10, restApis);
    restApis.set(id, { id, name });
    return { id };
  }

  function checkPlanSettings(planId: string | undefined, apiStages: ApiStage[], throttle?: ThrottleSettings, quota?: QuotaSettings): void {
    for (const { apiId } of apiStages) {
      if (!restApis.has(apiId)) throw new Error(`Invalid API identifier specified ${apiId}`);
    }
    if (throttle && !(throttle.rateLimit >= 0 && throttle.burstLimit >= 0)) throw new Error('Throttle limits must be non-negative');
    if (quota && !(Number.isInteger(quota.limit) && quota.limit >= 0)) throw new Error('Quota limit must be a non-negative integer');
    if (quota && (quota.offset ?? 0) !== 0) throw new Error('Only quota offset 0 is supported');
    if (planId !== undefined) {
      const plan = usagePlans.get(planId);
      for (const keyId of plan?.keyIds ?? []) assertNoStageConflict(keyId, planId, apiStages);
    }
  }

  function createUsagePlan(input: CreateUsagePlanInput): { id: string } {
    checkPlanSettings(undefined, input.apiStages, input.throttle, input.quota);
    const id = uniqueId(6, usagePlans);
    usagePlans.set(id, {
      id,
      name: input.name,
      description: input.description,
      apiStages: input.apiStages.map(({ apiId, stage }) => ({ apiId, stage })),
      throttle: input.throttle && { ...input.throttle },
      quota: input.quota && { ...input.quota, offset: 0 },
      keyIds: new Set(),
    });
    return { id };
  }

  function updateUsagePlan(id: string, patch: UsagePlanPatch): void {
    const plan = usagePlans.get(id);
    if (!plan) throw new Error(INVALID_PLAN);
    const apiStages = patch.apiStages ?? plan.apiStages;
    const throttle = patch.throttle === undefined ? plan.throttle : (patch.throttle ?? undefined);
    const quota = patch.quota === undefined ? plan.quota : (patch.quota ?? undefined);
    checkPlanSettings(id, apiStages, throttle, quota);
    if (patch.name !== undefined) plan.name = patch.name;
    if (patch.description !== undefined) plan.description = patch.description;
    plan.apiStages = apiStages.map(({ apiId, stage }) => ({ apiId, stage }));
    // Existing buckets keep their tokens; the new capacity and rate apply from the next request.
    plan.throttle = throttle && { ...throttle };
    plan.quota = quota && { ...quota, offset: 0 };
  }

  // ── data path ────────────────────────────────────────────────────────────────────────────────

  function planServing(keyId: string, apiId: string, stage: string): UsagePlanRecord | undefined {
    for (const plan of usagePlans.values()) {
      if (plan.keyIds.has(keyId) && plan.apiStages.some((s) => s.apiId === apiId && s.stage === stage)) return plan;
    }
    return undefined;
  }

  function takeToken(stateKey: string, throttle: ThrottleSettings, at: number): boolean {
    const capacity = throttle.burstLimit * 1000;
    // A bucket is born full, so a key new to a plan gets the plan's whole burst.
    const bucket = buckets.get(stateKey) ?? { milliTokens: capacity, refilledAt: at };
    const elapsed = Math.max(0, at - bucket.refilledAt);
    bucket.milliTokens = Math.min(capacity, bucket.milliTokens + elapsed * throttle.rateLimit);
    bucket.refilledAt = at;
    buckets.set(stateKey, bucket);
    if (bucket.milliTokens < 1000) return false;
    bucket.milliTokens -= 1000;
    return true;
  }

  function countsFor(stateKey: string): Map<string, number> {
    let counts = dailyCounts.get(stateKey);
    if (!counts) {
      counts = new Map();
      dailyCounts.set(stateKey, counts);
    }
    return counts;
  }

  function meter({ apiId, stage, apiKeyValue }: MeterRequest): MeterOutcome {
    const keyId = apiKeyValue === undefined ? undefined : keyIdsByValue.get(apiKeyValue);
    const key = keyId === undefined ? undefined : apiKeys.get(keyId);
    if (!key?.enabled) return { outcome: 'forbidden' };
    const plan = planServing(key.id, apiId, stage);
    if (!plan) return { outcome: 'forbidden' };

    const at = now();
    const stateKey = `${plan.id}/${key.id}`;
    // Throttling comes first, so a throttled request never reaches (or consumes) the quota.
    if (plan.throttle && !takeToken(stateKey, plan.throttle, at)) return { outcome: 'throttled' };
    const counts = countsFor(stateKey);
    if (plan.quota && usedInWindow(counts, plan.quota.period, at) >= plan.quota.limit) return { outcome: 'quota-exceeded' };
    const day = utcDay(at);
    counts.set(day, (counts.get(day) ?? 0) + 1);
    return { outcome: 'allowed' };
  }

  function usage(apiKeyId: string, usagePlanId?: string): KeyUsage | undefined {
    const plans = [...usagePlans.values()].filter((plan) => plan.keyIds.has(apiKeyId) && (usagePlanId === undefined || plan.id === usagePlanId));
    if (plans.length > 1) throw new Error(`API key ${apiKeyId} is in several usage plans; pass the usage plan id`);
    const plan = plans[0];
    if (!plan) return undefined;
    const at = now();
    const period = plan.quota?.period ?? 'DAY';
    const used = usedInWindow(dailyCounts.get(`${plan.id}/${apiKeyId}`), period, at);
    return {
      usagePlanId: plan.id,
      used,
      remaining: plan.quota ? Math.max(0, plan.quota.limit - used) : null,
      windowEndsAt: quotaWindow(period, at).end,
    };
  }

  // ── management API ───────────────────────────────────────────────────────────────────────────

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

    const response = route(method, segments, url.searchParams, method === 'POST' || method === 'PATCH' ? parseJsonObject(body) : {});
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

  return { listener, createRestApi, createUsagePlan, updateUsagePlan, meter, usage, onAuthorizerCacheFlush };
}

// ── helpers (pure) ─────────────────────────────────────────────────────────────────────────────

function randomString(length: number, alphabet: string): string {
  let result = '';
  for (let i = 0; i < length; i++) result += alphabet.charAt(randomInt(alphabet.length));
  return result;
}

function uniqueId(length: number, taken: Map<string, unknown>): string {
  let id = randomString(length, LOWER_ALPHANUMERIC);
  while (taken.has(id)) id = randomString(length, LOWER_ALPHANUMERIC);
  return id;
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Quota windows follow the UTC calendar: the day, the week from Monday, the month from the 1st. */
function quotaWindow(period: QuotaPeriod, at: number): { start: number; end: number } {
  const dayStart = startOfUtcDay(at);
  if (period === 'DAY') return { start: dayStart, end: dayStart + DAY_MS };
  if (period === 'WEEK') {
    const daysSinceMonday = (new Date(dayStart).getUTCDay() + 6) % 7;
    const start = dayStart - daysSinceMonday * DAY_MS;
    return { start, end: start + 7 * DAY_MS };
  }
  const date = new Date(dayStart);
  return { start: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1), end: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) };
}

/** Requests counted from the start of `at`'s window up to and including `at`'s day. */
function usedInWindow(counts: Map<string, number> | undefined, period: QuotaPeriod, at: number): number {
  if (!counts) return 0;
  let used = 0;
  for (let day = quotaWindow(period, at).start; day <= at; day += DAY_MS) used += counts.get(utcDay(day)) ?? 0;
  return used;
}

function parseUtcDate(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isNaN(ms) || utcDay(ms) !== text ? undefined : ms;
}

/** Pages ordered by id; the position is the last id returned, so it survives inserts and deletes. */
function paginate<T>(all: T[], idOf: (item: T) => string, query: URLSearchParams): { items: T[]; position: string | undefined } {
  const requested = Number(query.get('limit') ?? DEFAULT_PAGE_SIZE);
  const limit = Number.isInteger(requested) && requested > 0 ? Math.min(requested, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
  const encoded = query.get('position');
  const after = encoded ? Buffer.from(encoded, 'base64url').toString('utf8') : undefined;
  const sorted = [...all].sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0)).filter((item) => after === undefined || idOf(item) > after);
  const items = sorted.slice(0, limit);
  const last = items.at(-1);
  return { items, position: sorted.length > items.length && last !== undefined ? Buffer.from(idOf(last)).toString('base64url') : undefined };
}

function epochSeconds(ms: number): number {
  return ms / 1000;
}

function apiKeyJson(key: ApiKeyRecord, includeValue: boolean): JsonObject {
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

function usagePlanJson(plan: UsagePlanRecord): JsonObject {
  return withoutUndefined({
    id: plan.id,
    name: plan.name,
    description: plan.description,
    apiStages: plan.apiStages,
    throttle: plan.throttle && { burstLimit: plan.throttle.burstLimit, rateLimit: plan.throttle.rateLimit },
    quota: plan.quota && { limit: plan.quota.limit, offset: 0, period: plan.quota.period },
  });
}

function usagePlanKeyJson(key: ApiKeyRecord): JsonObject {
  return withoutUndefined({ id: key.id, type: 'API_KEY', value: key.value, name: key.name });
}

function withoutUndefined(object: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

function invalidInput(): ApiGatewayError {
  return badRequest('Invalid request input');
}

function optionalString(body: JsonObject, member: string): string | undefined {
  const value = body[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidInput();
  return value;
}

function optionalBoolean(body: JsonObject, member: string): boolean | undefined {
  const value = body[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidInput();
  return value;
}

function optionalStringMap(body: JsonObject, member: string): Record<string, string> | undefined {
  const value = body[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((entry) => typeof entry !== 'string')) throw invalidInput();
  return { ...(value as Record<string, string>) };
}

/** Percent-decoded path text; a malformed escape is the caller's mistake (400), not ours. */
function decodePathText(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    if (error instanceof URIError) throw badRequest('Invalid request path');
    throw error;
  }
}

/** Member names are the caller's: the parsed objects have no prototype. */
function parseJsonObject(body: Buffer): JsonObject {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = parseJsonOwn(body.toString('utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) throw invalidInput();
    throw error;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidInput();
  return parsed as JsonObject;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
    // The real service appends the Coral namespace after a colon; SDKs keep only the part before it.
    ...(errorType ? { 'x-amzn-errortype': `${errorType}:http://internal.amazon.com/coral/com.amazonaws.backplane.controlplane/` } : {}),
  });
  res.end(payload);
}
