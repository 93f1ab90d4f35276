/**
 * The HTTP surface (DESIGN §5) as data: which function serves which route. The Cell and
 * ControlPlane stacks and the local gateway both read it, so a route exists in both worlds or in
 * neither. `handler` names a module under packages/functions/src that exports `handler`.
 */
import { rulePattern } from '@cellbook/core/events/catalog';
import { ACCESS_LOG_FILTER_PATTERN, USAGE_LINE_FILTER_PATTERN } from '@cellbook/core/metering/usage-intake';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RouteDefinition {
  method: HttpMethod;
  /** API Gateway resource path, with `{param}` placeholders. */
  path: string;
  handler: string;
}

export interface CellRouteDefinition extends RouteDefinition {
  /** `tenant` (default): the tenant authorizer and the tenant's API key; `none`: public. */
  auth?: 'tenant' | 'none';
}

export interface ControlRouteDefinition extends RouteDefinition {
  /**
   * `operator`: the operator authorizer; `none`: public (sign-in); `iam`: SigV4-signed AWS callers,
   * authorized by IAM `execute-api:Invoke` (the identity broker, called by cells' tenant sessions).
   */
  auth: 'operator' | 'none' | 'iam';
}

/**
 * Every cell route but the health check needs the tenant authorizer and an API key (the tenant's
 * usage plan).
 */
export const CELL_ROUTES: readonly CellRouteDefinition[] = [
  { method: 'GET', path: '/health', handler: 'health', auth: 'none' },
  { method: 'GET', path: '/me', handler: 'me' },
  { method: 'GET', path: '/me/usage', handler: 'me-usage' },
  { method: 'POST', path: '/cases', handler: 'cases/create' },
  { method: 'GET', path: '/cases', handler: 'cases/list' },
  { method: 'GET', path: '/cases/{caseId}', handler: 'cases/get' },
  { method: 'PATCH', path: '/cases/{caseId}', handler: 'cases/update' },
  { method: 'POST', path: '/cases/{caseId}/notes', handler: 'cases/notes-create' },
  { method: 'GET', path: '/cases/{caseId}/notes', handler: 'cases/notes-list' },
  // Evidence (DESIGN §11): metadata here, bytes through presigned URLs signed with the tenant's session.
  { method: 'POST', path: '/cases/{caseId}/evidence', handler: 'evidence/create' },
  { method: 'GET', path: '/cases/{caseId}/evidence', handler: 'evidence/list' },
  { method: 'GET', path: '/cases/{caseId}/evidence/{evidenceId}', handler: 'evidence/get' },
  { method: 'DELETE', path: '/cases/{caseId}/evidence/{evidenceId}', handler: 'evidence/delete' },
  { method: 'POST', path: '/cases/{caseId}/evidence/{evidenceId}/complete', handler: 'evidence/complete' },
  { method: 'GET', path: '/users', handler: 'users/list' },
  { method: 'POST', path: '/users', handler: 'users/create' },
  { method: 'DELETE', path: '/users/{username}', handler: 'users/remove' },
  { method: 'PATCH', path: '/users/{username}', handler: 'users/change-role' },
  { method: 'POST', path: '/users/{username}/reset-password', handler: 'users/reset-password' },
  { method: 'POST', path: '/users/{username}/sign-out', handler: 'users/sign-out' },
  // Self-service export (standard and up, tenant admins): a job, then short-lived download links.
  { method: 'POST', path: '/exports', handler: 'exports/create' },
  { method: 'GET', path: '/exports', handler: 'exports/list' },
  { method: 'GET', path: '/exports/{exportId}', handler: 'exports/get' },
  // Analytics (premium and up) from the aggregates kept on write; the tenant's audit trail (premium and up, tenant admins).
  { method: 'GET', path: '/analytics', handler: 'analytics/get' },
  { method: 'GET', path: '/analytics/settings', handler: 'analytics/settings-get' },
  { method: 'PATCH', path: '/analytics/settings', handler: 'analytics/settings-update' },
  { method: 'GET', path: '/audit', handler: 'audit/list' },
];

export const CELL_AUTHORIZER = 'authorizer';

export const CONTROL_ROUTES: readonly ControlRouteDefinition[] = [
  { method: 'POST', path: '/auth/token', handler: 'control/auth-token', auth: 'none' },
  { method: 'POST', path: '/admin/tenants', handler: 'control/tenants-create', auth: 'operator' },
  { method: 'GET', path: '/admin/tenants', handler: 'control/tenants-list', auth: 'operator' },
  { method: 'GET', path: '/admin/tenants/{tenantId}', handler: 'control/tenants-get', auth: 'operator' },
  { method: 'PATCH', path: '/admin/tenants/{tenantId}', handler: 'control/tenants-update', auth: 'operator' },
  { method: 'POST', path: '/admin/tenants/{tenantId}/suspend', handler: 'control/tenants-suspend', auth: 'operator' },
  { method: 'POST', path: '/admin/tenants/{tenantId}/reactivate', handler: 'control/tenants-reactivate', auth: 'operator' },
  { method: 'GET', path: '/admin/tenants/{tenantId}/audit', handler: 'control/tenants-audit', auth: 'operator' },
  { method: 'POST', path: '/admin/tenants/{tenantId}/move', handler: 'control/tenants-move', auth: 'operator' },
  { method: 'GET', path: '/admin/tenants/{tenantId}/export', handler: 'control/tenants-export', auth: 'operator' },
  { method: 'DELETE', path: '/admin/tenants/{tenantId}', handler: 'control/tenants-offboard', auth: 'operator' },
  // Usage, cost and margin (DESIGN §10), from the usage ledger.
  { method: 'GET', path: '/admin/tenants/{tenantId}/usage', handler: 'control/tenants-usage', auth: 'operator' },
  { method: 'GET', path: '/admin/usage', handler: 'control/usage-report', auth: 'operator' },
  { method: 'GET', path: '/admin/usage/reconciliation', handler: 'control/usage-reconciliation', auth: 'operator' },
  { method: 'GET', path: '/admin/cells', handler: 'control/cells-list', auth: 'operator' },
  { method: 'POST', path: '/admin/cells', handler: 'control/cells-update', auth: 'operator' },
  { method: 'POST', path: '/admin/cells/{cellId}/drain', handler: 'control/cells-drain', auth: 'operator' },
  { method: 'GET', path: '/admin/cells/{cellId}/audit', handler: 'control/cells-audit', auth: 'operator' },
  { method: 'POST', path: '/admin/releases', handler: 'control/releases-create', auth: 'operator' },
  { method: 'GET', path: '/admin/releases', handler: 'control/releases-list', auth: 'operator' },
  { method: 'GET', path: '/admin/releases/{releaseId}', handler: 'control/releases-get', auth: 'operator' },
  { method: 'POST', path: '/admin/releases/{releaseId}/abort', handler: 'control/releases-abort', auth: 'operator' },
  { method: 'POST', path: '/admin/releases/{releaseId}/rollback', handler: 'control/releases-rollback', auth: 'operator' },
  { method: 'POST', path: '/admin/releases/{releaseId}/approve', handler: 'control/releases-approve', auth: 'operator' },
  { method: 'GET', path: '/admin/slo', handler: 'control/slo', auth: 'operator' },
  // The identity broker (DESIGN §13): cells manage their tenants' users only through these.
  { method: 'POST', path: '/broker/tenants/{tenantId}/users', handler: 'control/broker-users-create', auth: 'iam' },
  { method: 'DELETE', path: '/broker/tenants/{tenantId}/users/{username}', handler: 'control/broker-users-delete', auth: 'iam' },
  { method: 'PATCH', path: '/broker/tenants/{tenantId}/users/{username}', handler: 'control/broker-users-update', auth: 'iam' },
  { method: 'POST', path: '/broker/tenants/{tenantId}/users/{username}/sign-out', handler: 'control/broker-users-sign-out', auth: 'iam' },
  { method: 'POST', path: '/broker/tenants/{tenantId}/users/{username}/reset-password', handler: 'control/broker-users-reset-password', auth: 'iam' },
  // The usage broker (DESIGN §10): a cell reads its tenant's ledger figures (GET /me/usage) only through this.
  { method: 'GET', path: '/broker/tenants/{tenantId}/usage', handler: 'control/broker-usage', auth: 'iam' },
  // The export broker: a cell has its tenant's self-service export run by the control plane's exporter.
  { method: 'POST', path: '/broker/tenants/{tenantId}/exports', handler: 'control/broker-exports-create', auth: 'iam' },
];

export const OPERATOR_AUTHORIZER = 'control/operator-authorizer';

/** Path prefixes the router sends to the control plane; everything else goes to a cell. */
export const CONTROL_PLANE_PREFIXES = ['/auth/', '/admin/'] as const;

/** A control-plane function the deployment's event bus invokes, and the events that invoke it. */
export interface EventConsumerDefinition {
  handler: string;
  /** EventBridge event pattern of the rule (the same object in the stack and locally). */
  eventPattern: { source: string[]; 'detail-type': string[] };
  /** The function's timeout: long-running work (a move copies a tenant's whole data set). */
  timeoutSeconds: number;
}

export const CONTROL_EVENT_CONSUMERS: readonly EventConsumerDefinition[] = [
  {
    handler: 'control/tenant-mover',
    eventPattern: rulePattern('TenantMoveRequested'),
    timeoutSeconds: 900,
  },
  {
    // Builds a tenant's self-service export (core exports/self-service.ts runExport) through its cell's tenant access role.
    handler: 'control/tenant-exporter',
    eventPattern: rulePattern('TenantExportRequested'),
    timeoutSeconds: 900,
  },
];

/** A control-plane function run on a schedule (an EventBridge schedule rule in AWS, a timer locally). */
export interface ScheduledJobDefinition {
  handler: string;
  /** How often it runs. */
  everyMinutes: number;
  timeoutSeconds: number;
}

/**
 * AWS only: steps the active release every minute (core's advanceActiveRelease with the CloudFormation
 * and CloudWatch adapters). Not in CONTROL_SCHEDULES: locally `npm run release` drives releases itself.
 * Each run stops a little before its timeout; the next one resumes the durable state.
 */
export const RELEASE_DRIVER_SCHEDULE: ScheduledJobDefinition = { handler: 'control/release-driver', everyMinutes: 1, timeoutSeconds: 60 };

export const CONTROL_SCHEDULES: readonly ScheduledJobDefinition[] = [
  // Cancels onboardings that made no progress for an hour (OnboardingReaper.reapAbandonedOnboardings).
  { handler: 'control/onboarding-reaper', everyMinutes: 60, timeoutSeconds: 300 },
  // Snapshots every active tenant's gauges (active cases, users, storage) into the usage ledger (UsageSnapshot.snapshotActiveTenants).
  { handler: 'control/usage-snapshot', everyMinutes: 60, timeoutSeconds: 900 },
  // Reconciles the last settled hours' metered requests with the gateway's and reports each difference (Reconciliation.reconcileUsage).
  { handler: 'control/usage-reconciler', everyMinutes: 60, timeoutSeconds: 300 },
];

/**
 * A control-plane function each cell's logs are delivered to by a log subscription (a CloudWatch Logs
 * subscription filter named by core's `usageSubscriptionName(cellId)` in AWS; the platform's log sink
 * locally), in batches of CloudWatch Logs' `awslogs` event.
 */
export interface LogSubscriberDefinition {
  handler: string;
  /** The filter pattern on each of the cell's function log groups. */
  functionLogPattern: string;
  /** The filter pattern on the cell API's access log group. */
  accessLogPattern: string;
  timeoutSeconds: number;
}

export const LOG_SUBSCRIBERS: readonly LogSubscriberDefinition[] = [
  // Metering (DESIGN §10): usage lines and access log records into the usage ledger, once per idempotency key.
  { handler: 'control/usage-ingest', functionLogPattern: USAGE_LINE_FILTER_PATTERN, accessLogPattern: ACCESS_LOG_FILTER_PATTERN, timeoutSeconds: 60 },
];
