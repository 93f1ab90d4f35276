/**
 * Local API Gateway (REST, v1): the management API for API keys and usage plans, speaking the
 * REST-JSON protocol of `@aws-sdk/client-api-gateway`, plus the usage-plan metering the data path
 * applies after the authorizer (per-key token bucket and quota window).
 *
 * What CloudFormation would create (REST APIs, usage plans) is created programmatically; what the
 * control plane does at run time (API keys, usage plan keys) goes through the management API.
 */
import { systemClock, type Authenticate, type Authorize, type Clock, type RequestListener } from './types.js';
import { createGatewayState, uniqueId, type ApiKeyRecord, type UsagePlanRecord } from './api-gateway/gateway-state.js';
import { INVALID_PLAN, createManagementApi } from './api-gateway/management-api.js';
import { createMetering } from './api-gateway/metering.js';

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
  /**
   * The gateway as an earlier run left it (`snapshot()`): REST APIs, usage plans, API keys (ids and
   * values) with their plan memberships, and the quota counts. Empty when absent.
   */
  restore?: ApiGatewaySnapshot;
  /**
   * Called after anything `snapshot()` holds but the quota counts may have changed; the platform
   * saves it. A management call answers only once the promise settles (saved).
   */
  onChange?: () => void | Promise<void>;
  /** Called after a metered request counted against its quota: saved a moment later, off the request's path (`onChange` when absent). */
  onCount?: () => void;
}

/** The gateway's state as the platform saves it between runs. Token buckets are not kept: a bucket is born full. */
export interface ApiGatewaySnapshot {
  restApis: { id: string; name: string }[];
  apiKeys: ApiKeyRecord[];
  usagePlans: (Omit<UsagePlanRecord, 'keyIds'> & { keyIds: string[] })[];
  /** `${planId}/${keyId}` → [UTC day, count][] */
  dailyCounts: [string, [string, number][]][];
}

export interface LocalApiGateway {
  listener: RequestListener;
  createRestApi(name: string): { id: string };
  /**
   * The REST API of that name, if one exists (API Gateway does not make names unique; the deploy
   * step names each of its APIs once, and looks it up to stay idempotent across restarts, as
   * CloudFormation keeps a resource's physical id).
   */
  restApiNamed(name: string): { id: string } | undefined;
  createUsagePlan(input: CreateUsagePlanInput): { id: string };
  /** The usage plan of that name, if one exists (see `restApiNamed`). */
  usagePlanNamed(name: string): { id: string } | undefined;
  /** The gateway's state, for the platform to save (see `restore`). */
  snapshot(): ApiGatewaySnapshot;
  updateUsagePlan(id: string, patch: UsagePlanPatch): void;
  meter(request: MeterRequest): MeterOutcome;
  /** The id of the key with this value, as API Gateway's access log names it (`$context.identity.apiKeyId`). */
  apiKeyIdOf(apiKeyValue: string): string | undefined;
  /**
   * Usage of a key in the current window of its usage plan; `undefined` when the key is in no plan.
   * A key in several plans (for different API stages) needs `usagePlanId` to say which.
   */
  usage(apiKeyId: string, usagePlanId?: string): KeyUsage | undefined;
  /** Subscribes a stage's gateway to `FlushStageAuthorizersCache` calls for it. */
  onAuthorizerCacheFlush(apiId: string, stage: string, flush: () => void): void;
}

export function createLocalApiGateway(options: LocalApiGatewayOptions): LocalApiGateway {
  const { authenticate, authorize, now = systemClock, restore, onChange = () => undefined } = options;
  const onCount = options.onCount ?? (() => void onChange());
  const state = createGatewayState();
  const { restApis, usagePlans, apiKeys, keyIdsByValue, dailyCounts } = state;
  for (const api of restore?.restApis ?? []) restApis.set(api.id, { ...api });
  for (const key of restore?.apiKeys ?? []) {
    apiKeys.set(key.id, { ...key });
    keyIdsByValue.set(key.value, key.id);
  }
  for (const plan of restore?.usagePlans ?? []) usagePlans.set(plan.id, { ...plan, keyIds: new Set(plan.keyIds) });
  for (const [stateKey, counts] of restore?.dailyCounts ?? []) dailyCounts.set(stateKey, new Map(counts));
  const metering = createMetering(state, now);
  const { usage } = metering;
  // A metered request counts against its quota: the counts change (saved a moment later, off the request's path).
  const meter = (request: MeterRequest): MeterOutcome => {
    const outcome = metering.meter(request);
    if (outcome.outcome === 'allowed') onCount();
    return outcome;
  };
  // Any management call but a read may create or change keys and memberships: it answers once saved.
  const management = createManagementApi(state, { authenticate, authorize, now, saved: onChange });
  const { onAuthorizerCacheFlush, assertNoStageConflict, listener } = management;

  function createRestApi(name: string): { id: string } {
    const id = uniqueId(10, restApis);
    restApis.set(id, { id, name });
    void onChange();
    return { id };
  }

  const named = <T extends { id: string; name: string }>(records: Map<string, T>, name: string): { id: string } | undefined => {
    for (const record of records.values()) if (record.name === name) return { id: record.id };
    return undefined;
  };

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
    void onChange();
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
    void onChange();
  }

  function snapshot(): ApiGatewaySnapshot {
    return {
      restApis: [...restApis.values()].map((api) => ({ ...api })),
      apiKeys: [...apiKeys.values()].map((key) => ({ ...key })),
      usagePlans: [...usagePlans.values()].map((plan) => ({ ...plan, keyIds: [...plan.keyIds] })),
      dailyCounts: [...dailyCounts].map(([stateKey, counts]) => [stateKey, [...counts]]),
    };
  }

  const apiKeyIdOf = (apiKeyValue: string) => state.keyIdsByValue.get(apiKeyValue);
  return {
    listener,
    createRestApi,
    restApiNamed: (name) => named(restApis, name),
    createUsagePlan,
    usagePlanNamed: (name) => named(usagePlans, name),
    updateUsagePlan,
    meter,
    apiKeyIdOf,
    usage,
    onAuthorizerCacheFlush,
    snapshot,
  };
}
