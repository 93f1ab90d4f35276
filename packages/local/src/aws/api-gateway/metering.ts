/**
 * The data path's usage-plan metering, applied after the authorizer: the key's plan for the stage,
 * its token bucket (throttling first, so a throttled request never consumes quota), then its quota.
 */
import type { Clock } from '../types.js';
import type { KeyUsage, MeterOutcome, MeterRequest, ThrottleSettings } from '../api-gateway.js';
import type { GatewayState, UsagePlanRecord } from './gateway-state.js';
import { quotaWindow, usedInWindow, utcDay } from './quota-windows.js';

export function createMetering({ apiKeys, keyIdsByValue, usagePlans, buckets, dailyCounts }: GatewayState, now: Clock) {
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

  return { meter, usage };
}
