import { randomUUID } from 'node:crypto';
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { CONTROL_PLANE_SOURCE } from '@cellbook/core/events/catalog';
import * as Keys from '@cellbook/core/keys/keys';
import type * as Cell from '@cellbook/core/cells/cell';
import type { TierName } from '@cellbook/core/tenancy/tiers';
import { documentClient } from '@cellbook/core/shared/dynamo';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { call, onboardTenant, signIn, type JsonResponse, type OnboardedTenant } from '@cellbook/local/client';
import { startPlatform, type LocalPlatform, type PlatformOptions } from '@cellbook/local/platform';

/** A clock tests move by hand: usage plans refill and quotas reset only when the test says so. */
export class ManualClock {
  constructor(public ms = Date.UTC(2026, 10, 23, 12, 0, 0)) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

type CallOptions = Parameters<typeof call>[3];

/** An onboarded tenant (its admin signed in, `token` theirs), with a shortcut for that admin's requests. */
export interface TestTenant extends Omit<OnboardedTenant, 'tier'> {
  tier: TierName;
  /** A request through the router with this tenant admin's token. */
  // biome-ignore lint/suspicious/noExplicitAny: test ergonomics, as `call` in @cellbook/local/client.
  call<T = any>(method: string, path: string, options?: CallOptions): Promise<JsonResponse<T>>;
}

export interface TestPlatform {
  platform: LocalPlatform;
  url: string;
  /**
   * Every function log line and gateway access log line, as `{ source, line }`; a function's lines
   * also name the execution environment (`stream`, its log stream) that wrote them.
   */
  logs: { source: string; line: string; stream?: string }[];
  operatorToken: string;
  onboard(tier?: TierName): Promise<TestTenant>;
  signIn(username: string, password: string, newPassword?: string): Promise<string>;
  // biome-ignore lint/suspicious/noExplicitAny: test ergonomics, as `call` in @cellbook/local/client.
  call<T = any>(method: string, path: string, options?: CallOptions): Promise<JsonResponse<T>>;
  stop(): Promise<void>;
}

/** Two pooled cells in us-east-1, waves 0 and 1, each taking `capacity` tenants: the catalog the placement drills reason about. */
export function twoPooledCells(capacity: number): Cell.CellDefinition[] {
  return [
    { cellId: 'cell-1', placement: 'pooled', wave: 0, region: 'us-east-1', capacity },
    { cellId: 'cell-2', placement: 'pooled', wave: 1, region: 'us-east-1', capacity },
  ];
}

/** Boots the whole local platform on ephemeral ports, as `npm start` would, minus the demo seed. */
export async function bootTestPlatform(options: PlatformOptions = {}): Promise<TestPlatform> {
  const logs: { source: string; line: string; stream?: string }[] = [];
  const platform = await startPlatform({
    port: 0,
    warm: true,
    ...options,
    onLog: (source, line, stream) => logs.push(stream === undefined ? { source, line } : { source, line, stream }),
  });
  const url = platform.url;
  const operatorToken = await signIn(url, 'operator', options.operatorPassword ?? 'operator');
  return {
    platform,
    url,
    logs,
    operatorToken,
    signIn: (username, password, newPassword) => signIn(url, username, password, newPassword),
    call: (method, path, callOptions) => call(url, method, path, callOptions),
    async onboard(tier = 'basic') {
      const suffix = randomUUID().slice(0, 8);
      const tenant = await onboardTenant(url, operatorToken, { name: `Tenant ${suffix}`, tier, adminEmail: `admin-${suffix}@example.com` }, `Chosen-${suffix}-Pass1`);
      return {
        ...tenant,
        tier,
        call: (method, path, callOptions) => call(url, method, path, { token: tenant.token, ...callOptions }),
      };
    },
    stop: () => platform.stop(),
  };
}

/**
 * How many items of the tenant a cell's table still holds, read as the deployer would (no tenant
 * fence): its counters, users, analytics, audit trail and every case partition its listing index still names.
 */
export async function tenantItemsInCell(platform: LocalPlatform, cellId: string, tenantId: string): Promise<number> {
  const cell = platform.cells.find((candidate) => candidate.cellId === cellId);
  if (!cell) throw new Error(`no cell ${cellId}`);
  const db = documentClient({
    region: platform.region,
    endpoint: platform.endpoints.dynamodb,
    credentials: sdkCredentials(platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin')),
  });
  const count = async (input: QueryCommandInput) => (await db.send(new QueryCommand({ ...input, Select: 'COUNT' }))).Count ?? 0;
  const listing = await db.send(
    new QueryCommand({
      TableName: cell.tableName,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': Keys.caseListingPartition(tenantId) },
    }),
  );
  let total = 0;
  const partitions = [
    Keys.tenantMetaKey(tenantId).PK,
    Keys.tenantUsersPartition(tenantId),
    Keys.tenantAnalyticsPartition(tenantId),
    ...Keys.tenantAuditPartitions(tenantId),
    ...(listing.Items ?? []).map((item) => item.PK as string),
  ];
  for (const pk of partitions) {
    total += await count({ TableName: cell.tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': pk } });
  }
  return total;
}

/** A control-plane event as the bus delivers it: its envelope and `detail`. */
export interface ControlEvent {
  source: string;
  'detail-type': string;
  // biome-ignore lint/suspicious/noExplicitAny: test ergonomics, as `call` in @cellbook/local/client: each test reads the fields it expects.
  detail: Record<string, any>;
}

/**
 * Every control-plane event the platform's bus carries from now on, in the order it delivers them,
 * until `stop()`.
 */
export function captureControlEvents(env: TestPlatform): { events: ControlEvent[]; stop: () => void } {
  const events: ControlEvent[] = [];
  const { service, name } = env.platform.eventBus;
  const rule = 'test-capture-control-events';
  service.putRule({
    name: rule,
    eventBusName: name,
    eventPattern: { source: [CONTROL_PLANE_SOURCE] },
    targets: [{ id: 'capture', deliver: async (event) => void events.push(event as ControlEvent) }],
  });
  return { events, stop: () => service.removeRule(rule, name) };
}
