/** What the local API Gateway holds: REST APIs, API keys, usage plans, and each key's buckets and daily counts per plan. */
import { randomInt } from 'node:crypto';
import type { ApiStage, QuotaSettings, ThrottleSettings } from '../api-gateway.js';

export interface ApiKeyRecord {
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

export interface UsagePlanRecord {
  id: string;
  name: string;
  description: string | undefined;
  apiStages: ApiStage[];
  throttle: ThrottleSettings | undefined;
  quota: QuotaSettings | undefined;
  keyIds: Set<string>;
}

/** Token bucket in milli-tokens: with a millisecond clock and integer rates, refill is exact integer arithmetic. */
export interface Bucket {
  milliTokens: number;
  refilledAt: number;
}

export type GatewayState = ReturnType<typeof createGatewayState>;

export function createGatewayState() {
  const restApis = new Map<string, { id: string; name: string }>();
  const apiKeys = new Map<string, ApiKeyRecord>();
  const keyIdsByValue = new Map<string, string>();
  const usagePlans = new Map<string, UsagePlanRecord>();
  /** `${planId}/${keyId}` → bucket; a key's bucket belongs to its membership in one plan. */
  const buckets = new Map<string, Bucket>();
  /** `${planId}/${keyId}` → UTC day (YYYY-MM-DD) → requests counted. Source of both quota and GetUsage. */
  const dailyCounts = new Map<string, Map<string, number>>();
  return { restApis, apiKeys, keyIdsByValue, usagePlans, buckets, dailyCounts };
}

const LOWER_ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomString(length: number, alphabet: string): string {
  let result = '';
  for (let i = 0; i < length; i++) result += alphabet.charAt(randomInt(alphabet.length));
  return result;
}

export function uniqueId(length: number, taken: Map<string, unknown>): string {
  let id = randomString(length, LOWER_ALPHANUMERIC);
  while (taken.has(id)) id = randomString(length, LOWER_ALPHANUMERIC);
  return id;
}
