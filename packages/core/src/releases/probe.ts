/**
 * Each cell's synthetic probe tenant (DESIGN §9): the release gate needs traffic in every cell,
 * quiet ones too, and proof that a tenant can still work there. The probe is a normal tenant of its
 * cell — its own API key, admin user and data, served through the router like any customer — that
 * the release driver onboards once per cell and then, each round, signs in as and uses to create,
 * list, read and update a case. The same code runs in AWS and locally; only endpoints differ.
 *
 * The probe tenant (`ensureProbeTenant`) is onboarded by the ordinary resumable onboarding with
 * `probeOf`: it is pinned to its cell (the cell record's `probeTenantId`, one conditional write)
 * instead of taking one of the cell's slots, so capacity counts and placement never see it; its
 * record is `synthetic: true`; its admin receives no invitation; moves refuse it. Offboarding it
 * is allowed (it is a tenant like any other): the next ensure retires it on the cell record
 * (`probeGeneration`) and onboards a new one. Its password is a fresh random one that the probe
 * sets itself and keeps in memory only: a new probe sets another.
 *
 * Each round leaves nothing open: the round's case goes on to CLOSED, and any case an interrupted
 * round left open (seen in the round's listing) is closed too, so the probe never nears the tier's
 * active-case limit. Closed cases stay (there is no route that deletes a case): about 1 KB per round.
 *
 * What it calls, for the release driver's grants (the onboarding identity's, plus one):
 * - cells table: `GetItem` (the cell), `UpdateItem` (`probeTenantId`, `probeGeneration`, conditional);
 * - tenants table: `GetItem`, `PutItem`, `UpdateItem`, `DeleteItem` (the idempotency claim
 *   `IDEMPOTENCY#release-probe#probe-<cellId>[#<generation>]`, the name lease, the admin e-mail reservation, the registry record,
 *   its audit entry), as onboarding;
 * - each cell's table: `PutItem` on the seeded partitions (counters, user listing), as onboarding;
 * - API Gateway: `POST /apikeys`, `GET /apikeys`, `GET /usageplans`, `POST /usageplans/{id}/keys`
 *   (the cell's plan for the probe's tier), as onboarding;
 * - Cognito (tenant pool): `AdminGetUser`, `AdminCreateUser`, `AdminAddUserToGroup`, and
 *   `AdminSetUserPassword` (the probe's own password — the stacks' onboarding role lacks it);
 * - EventBridge: `PutEvents` (`TenantRoutingChanged`, `TenantActivated`);
 * - SSM: `GetParameter` on the router URL parameter (onboarding's route check), unless `ROUTER_URL` is set;
 * - HTTP through the router, no AWS credentials: `POST /auth/token`, `POST /cases`, `GET /cases`,
 *   `GET /cases/{id}`, `PATCH /cases/{id}`.
 */
import * as Cell from '../cells/cell.js';
import { routerBaseUrl } from '../cells/routing.js';
import { PROBE_ACTOR, probeAdminEmail, probeTenantName } from './probe-identity.js';
import * as Identity from '../integrations/identity.js';
import * as Onboarding from '../lifecycle/onboarding.js';
import { CellNotDeployed, CellNotFound, IdempotencyKeyReused } from '../shared/errors.js';
import { readTenant } from '../tenants/repository.js';
import type { Placement, TierName } from '../tenancy/tiers.js';
import type { CellProbe, ProbeResult, ProbeStep } from './ports.js';

/** Who onboards probe tenants: the actor in their audit trail, and the scope of their idempotency keys. */
export { PROBE_ACTOR, probeAdminEmail, probeTenantName } from './probe-identity.js';

/** The tier of a cell's probe: one whose usage plan that cell has. */
const PROBE_TIERS: Readonly<Record<Placement, TierName>> = { pooled: 'basic', dedicated: 'enterprise' };

export interface ProbeTenant {
  tenantId: string;
  cellId: string;
  name: string;
  tier: TierName;
  /** The admin user the probe signs in as. */
  username: string;
}

export interface EnsureProbeTenantOptions {
  /** Crash drills, as onboarding's own: runs after each onboarding step. */
  afterStep?: Onboarding.OnboardOptions['afterStep'];
  /** Onboarding's clock (its lease), as onboarding's own. */
  now?: () => number;
}

/**
 * The probe tenant of `cellId`, onboarded if it is not yet. Idempotent: a second call reads what the
 * first recorded and changes nothing, and a call after one that crashed (once its lease is over)
 * finishes the same tenant. Throws `CellNotFound` for a cell that is not deployed.
 */
export async function ensureProbeTenant(cellId: string, options: EnsureProbeTenantOptions = {}): Promise<ProbeTenant> {
  return ensureGeneration(cellId, options, true);
}

async function ensureGeneration(cellId: string, options: EnsureProbeTenantOptions, mayRetire: boolean): Promise<ProbeTenant> {
  const cell = await Cell.get(cellId);
  if (!cell) throw new CellNotFound();
  if (cell.status === 'provisioning') throw new CellNotDeployed();
  const generation = cell.probeGeneration ?? 0;
  const request = { name: probeTenantName(cellId), tier: PROBE_TIERS[cell.placement], adminEmail: probeAdminEmail(cellId) };
  let onboarded: Onboarding.OnboardResult;
  try {
    onboarded = await Onboarding.onboard(request, {
      actor: PROBE_ACTOR,
      // One key per generation: a crashed attempt is finished by the next, and a probe that was
      // offboarded (by an operator, or by the reaper of abandoned onboardings) is followed by a new one.
      idempotencyKey: generation === 0 ? `probe-${cellId}` : `probe-${cellId}#${generation}`,
      probeOf: cellId,
      ...(options.afterStep ? { afterStep: options.afterStep } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
  } catch (error) {
    if (!(error instanceof IdempotencyKeyReused) || !mayRetire || !(await isRetired(cell.probeTenantId))) throw error;
    await Cell.retireProbeTenant(cellId, generation);
    return ensureGeneration(cellId, options, false);
  }
  if (onboarded.cellId !== cellId) throw new Error(`the probe tenant of ${cellId} (${onboarded.tenantId}) is in ${onboarded.cellId}`);
  return { tenantId: onboarded.tenantId, cellId, name: request.name, tier: request.tier, username: onboarded.admin.username };
}

/** Whether the cell's pinned probe (if it got as far as being pinned) has been offboarded. */
async function isRetired(probeTenantId: string | undefined): Promise<boolean> {
  if (probeTenantId === undefined) return true;
  return (await readTenant(probeTenantId, { consistent: true }))?.status === 'OFFBOARDED';
}

export interface RouterProbeOptions {
  /** The router's base URL: the one every client uses (by default `ROUTER_URL`, or the SSM parameter `ROUTER_URL_PARAMETER` names, as in AWS). */
  routerUrl?: string;
  fetch?: typeof fetch;
  /** Longest wait for one answer before the step counts as failed (default 10 s). */
  timeoutMs?: number;
}

/** A token is used until this long before it expires. */
const TOKEN_MARGIN_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 10_000;
/** How many of the listed cases one round may close (left open by interrupted rounds). */
const SWEEP_LIMIT = 20;
const ROUND_TO_CLOSED = ['IN_PROGRESS', 'RESOLVED', 'CLOSED'] as const;

interface Session {
  tenant: ProbeTenant;
  /** Set by this probe, known only to it. */
  password: string;
  token?: { value: string; expiresAt: number };
}

interface Answer {
  status: number;
  ms: number;
  body: unknown;
  error?: string;
}

/**
 * The gate's probe through the router: `run(cellId)` ensures the cell's probe tenant (once per
 * cell and process), signs in as its admin (`POST /auth/token`, the token reused until a minute
 * before it expires), then creates a case, lists cases, reads the case and updates it. `ok` only if
 * every step answered 2xx. It never throws: an HTTP failure, a network error or a timeout is a failed
 * step (status 0 when nothing answered), and the round stops there.
 */
export function routerProbe(options: RouterProbeOptions): CellProbe {
  const send = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // One session per cell, shared by concurrent rounds: two would each set a password, and one lose.
  const sessions = new Map<string, Promise<Session>>();

  async function request(method: string, path: string, body?: unknown, token?: string): Promise<Answer> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const response = await send(new URL(path, options.routerUrl ?? (await routerBaseUrl())), {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      return { status: response.status, ms: elapsed(), body: parseJson(text) };
    } catch (error) {
      return { status: 0, ms: elapsed(), body: null, error: error instanceof Error ? error.message : String(error) };
    }
  }

  function sessionOf(cellId: string): Promise<Session> {
    let session = sessions.get(cellId);
    if (!session) {
      session = (async () => {
        const tenant = await ensureProbeTenant(cellId);
        return { tenant, password: await Identity.setRandomPassword(tenant.username) };
      })();
      sessions.set(cellId, session);
      // A session that could not be set up is not kept: the next round tries again.
      session.catch(() => forget(cellId, session));
    }
    return session;
  }

  function forget(cellId: string, session: Promise<Session> | undefined): void {
    if (session !== undefined && sessions.get(cellId) === session) sessions.delete(cellId);
  }

  async function run(cellId: string): Promise<ProbeResult> {
    const steps: ProbeResult['steps'] = [];
    const failed = (step: ProbeStep, answer: Answer, why?: string): ProbeResult => {
      steps.push({ step, status: answer.status, ms: answer.ms });
      // Refused credentials (a password another probe has reset since, a probe tenant offboarded
      // since): the next round ensures the tenant again and signs in afresh.
      if (answer.status === 401 || answer.status === 403) forget(cellId, current);
      const reason = why ?? answer.error ?? `answered ${answer.status}${errorCodeOf(answer.body)}`;
      return { ok: false, steps, error: `${step}: ${reason}` };
    };

    let session: Session;
    const current = sessionOf(cellId);
    try {
      session = await current;
    } catch (error) {
      return failed('sign-in', { status: 0, ms: 0, body: null }, `no probe tenant in ${cellId}: ${error instanceof Error ? error.message : String(error)}`);
    }

    // A reused token reports the sign-in that issued it: it answered 200, and costs nothing now.
    if (session.token && session.token.expiresAt - TOKEN_MARGIN_MS > Date.now()) {
      steps.push({ step: 'sign-in', status: 200, ms: 0 });
    } else {
      session.token = undefined;
      const signIn = await request('POST', '/auth/token', { username: session.tenant.username, password: session.password });
      if (!isSuccess(signIn.status)) return failed('sign-in', signIn);
      const token = field(signIn.body, 'access_token');
      const expiresIn = field(signIn.body, 'expires_in');
      if (typeof token !== 'string') return failed('sign-in', signIn, `answered ${signIn.status} without an access token`);
      session.token = { value: token, expiresAt: Date.now() + (typeof expiresIn === 'number' ? expiresIn : 0) * 1000 };
      steps.push({ step: 'sign-in', status: signIn.status, ms: signIn.ms });
    }
    const token = session.token.value;

    const created = await request(
      'POST',
      '/cases',
      { title: `Probe ${new Date().toISOString()}`, priority: 'low', description: 'Synthetic probe case of the release gate.' },
      token,
    );
    if (!isSuccess(created.status)) return failed('create', created);
    const caseId = field(created.body, 'caseId');
    if (typeof caseId !== 'string') return failed('create', created, `answered ${created.status} without a caseId`);
    steps.push({ step: 'create', status: created.status, ms: created.ms });

    const listed = await request('GET', `/cases?limit=${SWEEP_LIMIT}`, undefined, token);
    if (!isSuccess(listed.status)) return failed('list', listed);
    steps.push({ step: 'list', status: listed.status, ms: listed.ms });

    const read = await request('GET', `/cases/${caseId}`, undefined, token);
    if (!isSuccess(read.status)) return failed('read', read);
    if (field(read.body, 'caseId') !== caseId) return failed('read', read, `answered ${read.status} with another case`);
    steps.push({ step: 'read', status: read.status, ms: read.ms });

    const updated = await request('PATCH', `/cases/${caseId}`, { status: 'IN_PROGRESS' }, token);
    if (!isSuccess(updated.status)) return failed('update', updated);
    steps.push({ step: 'update', status: updated.status, ms: updated.ms });

    // Housekeeping, not a step: what fails here is left open and closed by a later round.
    await closeCase(caseId, 'IN_PROGRESS', token);
    for (const left of openCasesIn(listed.body)) {
      if (left.caseId !== caseId) await closeCase(left.caseId, left.status, token);
    }
    return { ok: true, steps };
  }

  /** Walks a case along the status machine to CLOSED; stops at the first refusal. */
  async function closeCase(caseId: string, from: string, token: string): Promise<void> {
    const path = from === 'OPEN' ? ROUND_TO_CLOSED : ROUND_TO_CLOSED.slice(ROUND_TO_CLOSED.indexOf(from as (typeof ROUND_TO_CLOSED)[number]) + 1);
    for (const status of path) {
      const answer = await request('PATCH', `/cases/${caseId}`, { status }, token);
      if (!isSuccess(answer.status)) return;
    }
  }

  return { run };
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    return { unparsed: text.slice(0, 200), error: String(error) };
  }
}

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

function errorCodeOf(body: unknown): string {
  const code = field(field(body, 'error'), 'code') ?? field(body, 'code');
  return typeof code === 'string' ? ` ${code}` : '';
}

/** The not-yet-closed cases of a `GET /cases` page (open work is listed first). */
function openCasesIn(page: unknown): { caseId: string; status: string }[] {
  const items = field(page, 'items');
  if (!Array.isArray(items)) return [];
  return items.flatMap((item: unknown) => {
    const caseId = field(item, 'caseId');
    const status = field(item, 'status');
    return typeof caseId === 'string' && typeof status === 'string' && status !== 'CLOSED' ? [{ caseId, status }] : [];
  });
}
