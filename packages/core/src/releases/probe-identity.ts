/**
 * Who the release probes are (releases/probe.ts): their tenant names, admin e-mails and the actor of
 * their onboarding. Apart from the probe itself so that the release driver's grants can be fenced
 * to exactly these registry partitions without importing the probe's onboarding.
 */

/** The actor of probe onboardings (their idempotency records are `IDEMPOTENCY#release-probe#…`). */
export const PROBE_ACTOR = 'release-probe';

/** Every probe tenant's name (so its id) starts with this; onboarding refuses it to customers. */
export const PROBE_NAME_PREFIX = 'probe-';

export function probeTenantName(cellId: string): string {
  return `${PROBE_NAME_PREFIX}${cellId}`;
}

/** `.invalid` (RFC 2606): an address that can never receive mail, and is never sent any. */
export function probeAdminEmail(cellId: string): string {
  return `probe+${cellId}@cellbook.invalid`;
}
