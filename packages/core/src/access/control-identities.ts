/** The control plane's identities: one role per duty, and which handler runs as which. */
/**
 * What each control-plane handler may touch — the operator API's routes and the functions the
 * event bus and the schedules invoke. Each identity is one role, in the stack and locally.
 */
export type ControlIdentity =
  | 'onboarding'
  | 'registry-read'
  | 'tenant-status'
  | 'tenant-plan'
  | 'cell-admin'
  | 'sign-in'
  | 'move-request'
  | 'tenant-mover'
  | 'tenant-offboarding'
  | 'tenant-export'
  | 'identity-broker'
  | 'export-request'
  | 'release-admin'
  | 'release-driver'
  | 'metering'
  | 'usage-read'
  | 'usage-snapshot';

export const CONTROL_IDENTITY_NAMES: readonly ControlIdentity[] = [
  'onboarding',
  'registry-read',
  'tenant-status',
  'tenant-plan',
  'cell-admin',
  'sign-in',
  'move-request',
  'tenant-mover',
  'tenant-offboarding',
  'tenant-export',
  'identity-broker',
  'export-request',
  'release-admin',
  'release-driver',
  'metering',
  'usage-read',
  'usage-snapshot',
];

/**
 * The identity of every control handler. A handler missing here fails the synth and the local
 * boot, so a new route or consumer cannot ship with a borrowed (and therefore too broad) role.
 */
export const CONTROL_IDENTITIES: Readonly<Record<string, ControlIdentity>> = {
  'control/auth-token': 'sign-in',
  'control/tenants-create': 'onboarding',
  'control/tenants-list': 'registry-read',
  'control/tenants-get': 'registry-read',
  'control/tenants-update': 'tenant-plan',
  'control/tenants-suspend': 'tenant-status',
  'control/tenants-reactivate': 'tenant-status',
  'control/tenants-audit': 'registry-read',
  'control/tenants-move': 'move-request',
  'control/tenants-export': 'tenant-export',
  'control/tenants-offboard': 'tenant-offboarding',
  'control/cells-list': 'registry-read',
  'control/cells-update': 'cell-admin',
  'control/cells-drain': 'move-request',
  'control/cells-audit': 'registry-read',
  'control/tenant-mover': 'tenant-mover',
  // Cancelling an abandoned onboarding is offboarding it.
  'control/onboarding-reaper': 'tenant-offboarding',
  // The identity broker (DESIGN §13): the cells' only way to their tenants' users.
  'control/broker-users-create': 'identity-broker',
  'control/broker-users-delete': 'identity-broker',
  'control/broker-users-update': 'identity-broker',
  'control/broker-users-sign-out': 'identity-broker',
  'control/broker-users-reset-password': 'identity-broker',
  // Releases (DESIGN §9): operators start, abort and roll back; the driver deploys and judges.
  'control/releases-create': 'release-admin',
  'control/releases-abort': 'release-admin',
  'control/releases-rollback': 'release-admin',
  'control/releases-approve': 'release-admin',
  'control/releases-list': 'registry-read',
  'control/releases-get': 'registry-read',
  // AWS only: steps the active release every minute (locally the platform's driver worker does; DESIGN §9).
  'control/release-driver': 'release-driver',
  // Metering (DESIGN §10): the cells' usage log lines and access logs, delivered by log subscription, into the ledger.
  'control/usage-ingest': 'metering',
  // Tenant SLOs (DESIGN §10): reads the ledger's gateway buckets.
  'control/slo': 'usage-read',
  // Usage, cost and margin (DESIGN §10): operators' reports and the cells' usage broker read the ledger.
  'control/tenants-usage': 'usage-read',
  'control/usage-report': 'usage-read',
  // Reconciliation (DESIGN §10): on demand for operators, and hourly; both only read the ledger.
  'control/usage-reconciliation': 'usage-read',
  'control/usage-reconciler': 'usage-read',
  'control/broker-usage': 'usage-read',
  // Hourly: each active tenant's gauges, read through its cell's tenant access role, into the ledger.
  'control/usage-snapshot': 'usage-snapshot',
  'control/broker-exports-create': 'export-request',
  'control/tenant-exporter': 'tenant-export',
};

/** The identities whose handlers check a tenant's route through the router (core routing.ts). */
export const ROUTER_PROBING_IDENTITIES: ReadonlySet<ControlIdentity> = new Set<ControlIdentity>(['onboarding', 'tenant-mover', 'release-driver']);

/**
 * The control identities that work on one tenant's cell data at a time: each cell's tenant access
 * role trusts them (tenant sessions only), and each cell grants them assuming it.
 */
export const TENANT_ACCESS_IDENTITIES: readonly ControlIdentity[] = ['tenant-mover', 'tenant-offboarding', 'tenant-export', 'usage-snapshot'];

/** The control identities that work on the usage ledger: their functions are told its table (`USAGE_TABLE`). */
export const USAGE_LEDGER_IDENTITIES: ReadonlySet<ControlIdentity> = new Set<ControlIdentity>(['metering', 'usage-read', 'usage-snapshot', 'tenant-export']);

export function controlIdentityOf(handler: string): ControlIdentity {
  const identity = Object.hasOwn(CONTROL_IDENTITIES, handler) ? CONTROL_IDENTITIES[handler] : undefined;
  if (!identity) throw new Error(`no identity declared for control handler "${handler}"`);
  return identity;
}
