/**
 * The local control plane, as the ControlPlane stack deploys it: each handler under its identity's
 * role, one function group per identity (core's CONTROL_IDENTITIES) and the operator authorizer with
 * no AWS access; the event consumers behind their rules, the scheduled jobs on timers, and the
 * control plane's REST API in front.
 */
import { randomUUID } from 'node:crypto';
import type { GateSettings } from '@cellbook/core/releases/release';
import { AUTHORIZER_CACHE_TTL_SECONDS } from '@cellbook/core/tenancy/tiers';
import { CONTROL_IDENTITY_NAMES, ROUTER_PROBING_IDENTITIES, USAGE_LEDGER_IDENTITIES, controlIdentityOf, type ControlIdentity } from '@cellbook/core/access/control-identities';
import { CONTROL_EVENT_CONSUMERS, CONTROL_ROUTES, CONTROL_SCHEDULES, LOG_SUBSCRIBERS, OPERATOR_AUTHORIZER } from '@cellbook/functions/routes';
import type { LocalApiGateway } from '../aws/api-gateway.js';
import type { LocalCognito } from '../aws/cognito-idp.js';
import type { LocalEventBridge } from '../aws/eventbridge.js';
import type { LocalIam } from '../aws/local-iam.js';
import { LOCAL_REGION, type Clock, type RoleDefinition } from '../aws/types.js';
import { createRestGateway } from '../gateway/rest-gateway.js';
import type { FunctionCode } from '../lambda/bundle.js';
import type { FunctionHost, InvocationRecord, LogSink } from '../lambda/function-host.js';
import type { PlatformOptions } from '../platform.js';
import { operatorAuthorizerRole } from '../roles/control-roles.js';
import { OPERATOR_POOL_CLIENT_ID, OPERATOR_POOL_ID } from './aws-services.js';
import { PREFIX, STAGE } from './naming.js';

/** Starts a function group under the (existing) role `roleArn`, as the platform's `host` does. */
/**
 * A function group running under the (existing) role `roleArn`, from the platform's control bundle
 * unless `options.code` names another build (a cell's release).
 */
export type HostFunctions = (
  group: string,
  roleArn: string,
  handlers: string[],
  env: Record<string, string>,
  options?: { code?: FunctionCode; onInvocation?: (record: InvocationRecord) => void },
) => FunctionHost;

/** A local release's gate by default: a few seconds and a few probe rounds per wave, so a release is watched end to end in a minute. */
export const LOCAL_RELEASE_GATE: GateSettings = { bakeSeconds: 5, minRequests: 20, probeIntervalSeconds: 0.5, maxGateSeconds: 60 };

export interface ControlPlaneInput {
  options: PlatformOptions;
  iam: LocalIam;
  host: HostFunctions;
  /** The control identities' roles, already created. */
  control: Readonly<Record<ControlIdentity, RoleDefinition>>;
  tenantsTable: string;
  cellsTable: string;
  /** The usage ledger's table: told to the identities that work on it (core's USAGE_LEDGER_IDENTITIES). */
  usageTable: string;
  operatorCognito: LocalCognito;
  routerUrl: string;
  eventBridge: LocalEventBridge;
  eventBusName: string;
  apiGateway: LocalApiGateway;
  controlApiId: string;
  gatewayClock: Clock;
  onLog: LogSink;
  cleanups: (() => Promise<void>)[];
}

export function startControlPlane(input: ControlPlaneInput) {
  const {
    options,
    iam,
    host,
    control,
    tenantsTable,
    cellsTable,
    usageTable,
    operatorCognito,
    routerUrl,
    eventBridge,
    eventBusName,
    apiGateway,
    controlApiId,
    gatewayClock,
    onLog,
    cleanups,
  } = input;
  const releaseGate = { ...LOCAL_RELEASE_GATE, ...options.releaseGate };
  // Each handler runs under its identity's role, as in the ControlPlane stack: one function group
  // per identity (core's CONTROL_IDENTITIES), and the operator authorizer with no AWS access.
  const controlEnv: Record<string, string> = {
    TENANTS_TABLE: tenantsTable,
    CELLS_TABLE: cellsTable,
    INVITATION_DELIVERY: 'response',
    OPERATOR_POOL_ID,
    OPERATOR_POOL_CLIENT_ID,
    OPERATOR_JWT_ISSUER: operatorCognito.issuer,
    // A release's gate, unless its request says otherwise: seconds locally (production's are an hour and 100 requests).
    RELEASE_BAKE_SECONDS: String(releaseGate.bakeSeconds),
    RELEASE_MIN_REQUESTS: String(releaseGate.minRequests),
    RELEASE_PROBE_INTERVAL_SECONDS: String(releaseGate.probeIntervalSeconds),
    RELEASE_MAX_GATE_SECONDS: String(releaseGate.maxGateSeconds),
  };
  const controlHandlers = [
    ...CONTROL_ROUTES.map((r) => r.handler),
    ...CONTROL_EVENT_CONSUMERS.map((c) => c.handler),
    ...CONTROL_SCHEDULES.map((job) => job.handler),
    // The cells' log subscriptions deliver to these (platform.ts, as CloudWatch Logs would).
    ...LOG_SUBSCRIBERS.map((subscriber) => subscriber.handler),
  ];
  const controlHosts = {} as Record<ControlIdentity, FunctionHost>;
  for (const identity of CONTROL_IDENTITY_NAMES) {
    const handlers = controlHandlers.filter((handler) => controlIdentityOf(handler) === identity);
    // Only the identities that check a tenant's route through the router are told where it is (the
    // stack gives them, and only them, the router URL parameter).
    const env = {
      ...controlEnv,
      ...(ROUTER_PROBING_IDENTITIES.has(identity) ? { ROUTER_URL: routerUrl } : {}),
      ...(USAGE_LEDGER_IDENTITIES.has(identity) ? { USAGE_TABLE: usageTable } : {}),
    };
    controlHosts[identity] = host(`${PREFIX}-control-${identity}`, control[identity].arn, handlers, env);
  }
  const operatorAuthorizer = iam.createRole(operatorAuthorizerRole(PREFIX));
  const operatorAuthorizerHost = host(`${PREFIX}-operator-authorizer`, operatorAuthorizer.arn, [OPERATOR_AUTHORIZER], {
    OPERATOR_POOL_ID,
    OPERATOR_POOL_CLIENT_ID,
    OPERATOR_JWT_ISSUER: operatorCognito.issuer,
  });
  const invokeControl = (name: string, event: unknown, timeoutMs: number) =>
    (name === OPERATOR_AUTHORIZER ? operatorAuthorizerHost : controlHosts[controlIdentityOf(name)]).invoke(name, event, timeoutMs);
  // The control plane's event consumers, as the stack's rules invoke them (the mover, …).
  for (const consumer of CONTROL_EVENT_CONSUMERS) {
    eventBridge.putRule({
      name: `${PREFIX}-${consumer.handler.replace(/\//g, '-')}`,
      eventBusName,
      eventPattern: consumer.eventPattern,
      targets: [{ id: consumer.handler.replace(/\//g, '-'), deliver: async (event) => void (await invokeControl(consumer.handler, event, consumer.timeoutSeconds * 1000)) }],
    });
  }
  // The control plane's scheduled jobs, as the stack's schedule rules run them (the reaper of
  // abandoned onboardings, …). A run that fails is logged; the next one tries again.
  for (const job of CONTROL_SCHEDULES) {
    const timer = setInterval(() => {
      const event = {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '000000000000',
        time: new Date().toISOString(),
        region: LOCAL_REGION,
        resources: [],
        detail: {},
      };
      invokeControl(job.handler, event, job.timeoutSeconds * 1000).catch(() => undefined);
    }, job.everyMinutes * 60_000);
    timer.unref();
    cleanups.push(async () => clearInterval(timer));
  }
  const controlRestGateway = createRestGateway({
    apiId: controlApiId,
    stage: STAGE,
    routes: CONTROL_ROUTES.map((route) => ({
      method: route.method,
      path: route.path,
      function: route.handler,
      ...(route.auth === 'operator' ? { authorizer: OPERATOR_AUTHORIZER } : {}),
      ...(route.auth === 'iam' ? { authorization: 'iam' as const } : {}),
      apiKeyRequired: false,
    })),
    iam: { authenticate: iam.authenticate, authorize: iam.authorize, userId: (session) => iam.userId(session) },
    authorizerCacheTtlSeconds: options.authorizerCacheTtlSeconds ?? AUTHORIZER_CACHE_TTL_SECONDS,
    invoke: invokeControl,
    meter: () => 'allowed',
    now: gatewayClock,
    onAccessLog: (entry) => onLog(`${PREFIX}-control-gateway`, JSON.stringify(entry)),
  });
  apiGateway.onAuthorizerCacheFlush(controlApiId, STAGE, controlRestGateway.flushAuthorizerCache);
  return { controlEnv, controlHosts, listener: controlRestGateway.listener };
}
