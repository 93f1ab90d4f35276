import * as apig from 'aws-cdk-lib/aws-apigateway';
import type { App } from 'sst/constructs';
import { TIERS, TIER_NAMES, type TierName } from '@cellbook/core/tenancy/tiers';
import { resourceName } from './stage.js';

/**
 * One usage plan per tier, straight from core's tier table; each tenant's own API key is attached to
 * its tier's plan at onboarding, so throttling and quotas are per tenant.
 */
export function cellUsagePlans(app: App, cellId: string, restApi: apig.RestApi): Record<TierName, apig.UsagePlan> {
  const usagePlans = {} as Record<TierName, apig.UsagePlan>;
  for (const tier of TIER_NAMES) {
    const { throttle, quota } = TIERS[tier];
    usagePlans[tier] = restApi.addUsagePlan(`UsagePlan-${tier}`, {
      name: resourceName(app, cellId, tier),
      description: `Tier ${tier} on cell ${cellId}`,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      ...(quota ? { quota: { limit: quota.limit, period: apig.Period[quota.period] } } : {}),
      apiStages: [{ api: restApi, stage: restApi.deploymentStage }],
    });
  }
  return usagePlans;
}
