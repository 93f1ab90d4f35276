/**
 * The price table (DESIGN §10): what Cellbook pays AWS per unit of what a tenant consumes, what a
 * cell costs with no traffic at all, and what each tier is sold for. Money is integer micro-dollars
 * (1 USD = 1,000,000): a unit price is `micros` per `per` units, so no price needs a fraction.
 *
 * AWS public list prices, region us-east-1, on-demand, first pricing tier, no free tier. They are
 * the prices as published on the AWS pricing pages at `PRICES_AS_OF` (DynamoDB on-demand after its
 * November 2024 reduction); they were transcribed without network access and must be re-read
 * before quoting a customer. "GB" is 2^30 bytes, and a month 730 hours, as AWS bills them.
 */
import type { Placement, TierName } from '../tenancy/tiers.js';

export const PRICES_REGION = 'us-east-1';
/** When the list prices below were last read from the AWS pricing pages. */
export const PRICES_AS_OF = '2025-01-15';

/** Micro-dollars: integer, exact. */
export type Micros = number;
export const MICROS_PER_DOLLAR = 1_000_000;

/** `micros` per `per` units of `unit`. */
export interface UnitPrice {
  micros: Micros;
  per: number;
  unit: string;
}

export const BYTES_PER_GB = 2 ** 30;
export const HOURS_PER_MONTH = 730;

/** What a tenant's metered consumption is priced at. */
export const PRICES = {
  /** API Gateway REST API, first 333 million requests a month: $3.50 per million. */
  apiGatewayRestRequest: { micros: 3_500_000, per: 1_000_000, unit: 'request' },
  /** Lambda requests: $0.20 per million. */
  lambdaRequest: { micros: 200_000, per: 1_000_000, unit: 'request' },
  /** Lambda duration, arm64, first 7.5 billion GB-s a month: $0.0000133334 per GB-second. */
  lambdaArmGbMs: { micros: 133_334, per: 10_000_000, unit: 'GB-ms' },
  /** DynamoDB on-demand (Standard table class): $0.125 per million read request units. */
  dynamoReadUnit: { micros: 125_000, per: 1_000_000, unit: 'read request unit' },
  /** DynamoDB on-demand: $0.625 per million write request units. */
  dynamoWriteUnit: { micros: 625_000, per: 1_000_000, unit: 'write request unit' },
  /** DynamoDB storage (Standard table class): $0.25 per GB-month, billed by the byte-hour. */
  dynamoStorageByteHour: { micros: 250_000, per: BYTES_PER_GB * HOURS_PER_MONTH, unit: 'byte-hour' },
  /** CloudWatch Logs ingestion (Standard log class): $0.50 per GB. */
  logsIngestionByte: { micros: 500_000, per: BYTES_PER_GB, unit: 'byte' },
  /** CloudFront HTTPS requests, United States: $0.0100 per 10,000. */
  cloudFrontHttpsRequest: { micros: 10_000, per: 10_000, unit: 'request' },
  /** CloudFront data transfer out to the internet, first 10 TB, United States: $0.085 per GB (a tenant's export bytes). */
  cloudFrontTransferOutByte: { micros: 85_000, per: BYTES_PER_GB, unit: 'byte' },
} as const satisfies Record<string, UnitPrice>;

/**
 * Log bytes ingested per answered request — an assumption, measured on local log lines, not a
 * meter: the function's lines (Lambda's START/END/REPORT about 330 bytes, the usage line about
 * 520, Powertools' request line about 150) and the gateway's access log line (about 450).
 */
export const FUNCTION_LOG_BYTES_PER_REQUEST = 1_000;
export const ACCESS_LOG_BYTES_PER_REQUEST = 450;

/** What each tier is sold for, and the storage its plan includes. */
export interface TierPrice {
  /** List price per month, in micro-dollars. */
  monthlyMicros: Micros;
  /** Storage the plan includes, in bytes; `null` means unlimited. */
  includedStorageBytes: number | null;
}

export const TIER_PRICES: Readonly<Record<TierName, TierPrice>> = {
  basic: { monthlyMicros: 49_000_000, includedStorageBytes: 1 * BYTES_PER_GB },
  standard: { monthlyMicros: 199_000_000, includedStorageBytes: 10 * BYTES_PER_GB },
  premium: { monthlyMicros: 799_000_000, includedStorageBytes: 100 * BYTES_PER_GB },
  enterprise: { monthlyMicros: 4_999_000_000, includedStorageBytes: null },
};

/** One line of a cell's fixed monthly cost. */
export interface FixedCostItem {
  item: string;
  quantity: number;
  /** Per unit, per month. */
  unitMicros: Micros;
}

/** CloudWatch, us-east-1: $0.10 per standard-resolution alarm metric, $0.50 per composite alarm, $3.00 per dashboard, $0.30 per custom metric, $0.50 per Contributor Insights rule, per month. */
const ALARM_METRIC = 100_000;
const COMPOSITE_ALARM = 500_000;
const DASHBOARD = 3_000_000;
const CUSTOM_METRIC = 300_000;
const CONTRIBUTOR_INSIGHTS_RULE = 500_000;

/** A cell's functions, each watched by its alarms: one per cell route (27) and the authorizer. A spec beside the routes keeps it true. */
export const CELL_FUNCTION_COUNT = 28;
const CELL_FUNCTIONS = CELL_FUNCTION_COUNT;

/**
 * What one cell stack costs a month with no traffic at all. On-demand DynamoDB, API Gateway, Lambda
 * and an AWS-managed encryption key cost nothing idle; CloudWatch's alarms, dashboard, custom
 * metrics and Contributor Insights rules do. A pooled cell serves three tiers, a dedicated one one.
 * The SLO lines follow the Cell stack's tenant SLOs (stacks/constructs/cell-slo.ts, DESIGN §10):
 * per tier five metric filters on the access log (requests, throttles, 5xx, slow requests,
 * latency), and per tier, SLI (availability, latency) and alert (fast, slow) two window alarms —
 * metric math over three metrics each, billed per metric — and their composite; three Contributor
 * Insights rules (requests, 5xx, latency). Log storage, Contributor Insights' matched events and the
 * release probe's traffic are variable and not counted here.
 */
export function cellFixedCosts(placement: Placement): FixedCostItem[] {
  const tiers = placement === 'pooled' ? 3 : 1;
  return [
    { item: 'Cell alarms on 5xx rate and p99 latency (one metric each)', quantity: 2, unitMicros: ALARM_METRIC },
    { item: `Cell alarms on function errors and throttles (metric math over ${CELL_FUNCTIONS} functions each)`, quantity: 2 * CELL_FUNCTIONS, unitMicros: ALARM_METRIC },
    { item: 'Cell health composite alarm (the release gate)', quantity: 1, unitMicros: COMPOSITE_ALARM },
    { item: 'Cell dashboard', quantity: 1, unitMicros: DASHBOARD },
    { item: 'Custom metrics: ApiRequest by tier and cell, ColdStart per function', quantity: tiers + CELL_FUNCTIONS, unitMicros: CUSTOM_METRIC },
    { item: 'SLO metrics from the access log: requests, throttles, 5xx, slow requests, latency per tier', quantity: 5 * tiers, unitMicros: CUSTOM_METRIC },
    { item: 'SLO burn-rate window alarms: 2 SLIs × 2 alerts × 2 windows per tier, 3 metrics each', quantity: 2 * 2 * 2 * 3 * tiers, unitMicros: ALARM_METRIC },
    { item: 'SLO burn-rate alerts (composite): 2 SLIs × 2 alerts per tier', quantity: 2 * 2 * tiers, unitMicros: COMPOSITE_ALARM },
    { item: 'Contributor Insights rules: top tenants by requests, errors, latency', quantity: 3, unitMicros: CONTRIBUTOR_INSIGHTS_RULE },
  ];
}

/** A cell's fixed cost per month, in micro-dollars. */
export function cellFixedMonthlyMicros(placement: Placement): Micros {
  return cellFixedCosts(placement).reduce((sum, line) => sum + line.quantity * line.unitMicros, 0);
}

/** `quantity × price`, rounded half up to the micro-dollar (exact integer arithmetic). */
export function priceOf(quantity: number, price: UnitPrice): Micros {
  return divideRounded(BigInt(Math.round(quantity)) * BigInt(price.micros), BigInt(price.per));
}

/** `numerator / denominator` rounded half away from zero, as a number. */
export function divideRounded(numerator: bigint, denominator: bigint): number {
  if (denominator <= 0n) throw new Error('divide by a positive denominator');
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  const quotient = (magnitude * 2n + denominator) / (denominator * 2n);
  return Number(negative ? -quotient : quotient);
}

/** Micro-dollars as dollars with two decimals, rounded half away from zero: for display only. */
export function formatUsd(micros: Micros): string {
  const cents = divideRounded(BigInt(micros), 10_000n);
  const sign = cents < 0 ? '-' : '';
  const magnitude = Math.abs(cents);
  return `${sign}${Math.trunc(magnitude / 100)}.${String(magnitude % 100).padStart(2, '0')}`;
}
