/**
 * Releases as data (DESIGN §9): each release's manifest, written once and never changed, and its
 * rollout — the orchestrator's durable state — in the control plane's registry, outside every
 * tenant's and cell's partition. One lease item names the release rolling out, so two never run at
 * once. Every write of a rollout is conditional on the version it read.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AlarmState } from '../cells/alarms.js';
import { activeReleaseKey, RELEASE_LISTING_PARTITION, releaseKey, releaseListingKey } from '../keys/keys.js';
import { ConcurrentModification, ReleaseNotFound } from '../shared/errors.js';
import { isConditionalCheckFailed, systemDocumentClient } from '../shared/dynamo.js';
import { tenantsTable } from '../tenants/repository.js';
import { isReleaseId, releaseIdOf, type ReleaseManifest } from './manifest.js';
import type { WaveKind } from './plan.js';
import type { ProbeResult } from './ports.js';

/** How a wave is judged before the next one gets the release. */
export interface GateSettings {
  /** How long each wave bakes after it is deployed, at least. */
  bakeSeconds: number;
  /** Requests each cell of the wave must have served since its deploy (the probe supplies quiet cells). */
  minRequests: number;
  /** How often the gate probes the wave's cells and reads their alarms. */
  probeIntervalSeconds: number;
  /** A wave still short of its requests after this long fails its gate: silence is not health. */
  maxGateSeconds: number;
}

/**
 * Amazon's practice (Builders' Library, "Automating safe, hands-off deployments"): bake an hour,
 * and see at least 100 requests, before a wave is promoted.
 */
export const PRODUCTION_GATE: GateSettings = { bakeSeconds: 3600, minRequests: 100, probeIntervalSeconds: 30, maxGateSeconds: 3 * 3600 };

/** The gate defaults of a deployment: production's unless its environment says otherwise (local mode: seconds). */
export function gateDefaultsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): GateSettings {
  const read = (name: string, fallback: number) => {
    const value = Number(env[name]);
    return env[name] && Number.isFinite(value) && value >= 0 ? value : fallback;
  };
  return {
    bakeSeconds: read('RELEASE_BAKE_SECONDS', PRODUCTION_GATE.bakeSeconds),
    minRequests: read('RELEASE_MIN_REQUESTS', PRODUCTION_GATE.minRequests),
    probeIntervalSeconds: read('RELEASE_PROBE_INTERVAL_SECONDS', PRODUCTION_GATE.probeIntervalSeconds),
    maxGateSeconds: read('RELEASE_MAX_GATE_SECONDS', PRODUCTION_GATE.maxGateSeconds),
  };
}

export type RolloutStatus =
  /** Waves are being deployed and judged, in order. */
  | 'rolling-out'
  /** An abort or a rollback is taking deployed waves back to their previous release, last wave first. */
  | 'rolling-back'
  /** Every wave passed its gate. */
  | 'finished'
  /** A gate failed: that wave was rolled back, later waves never got the release. */
  | 'halted'
  /** An operator aborted it: every wave that had it was rolled back. */
  | 'aborted'
  /** An operator rolled a finished (or halted) release back, wave by wave in reverse. */
  | 'rolled-back'
  /** Taking a cell back to its previous release failed: the cell needs an operator (the reason says which). */
  | 'rollback-failed';

export const FINAL_STATUSES: ReadonlySet<RolloutStatus> = new Set(['finished', 'halted', 'aborted', 'rolled-back', 'rollback-failed']);

export type WaveState = 'pending' | 'deploying' | 'baking' | 'promoted' | 'rolling-back' | 'rolled-back';

/** What the gate saw of one cell since the wave was deployed. */
export interface GateFigures {
  observedAt: string;
  requests: number;
  serverErrors: number;
  serverErrorRate: number;
  p99LatencyMs: number | null;
  functionErrors: number;
  functionThrottles: number;
  /** The cell's own alarms, as last read. */
  alarms: AlarmState[];
  probes: { passed: number; failed: number; last?: ProbeResult };
}

export interface CellRollout {
  cellId: string;
  /** What the cell ran before this release reached it: where a rollback takes it back to. */
  previousReleaseId: string | null;
  deployedAt?: string;
  rolledBackAt?: string;
  gate?: GateFigures;
}

export interface WaveRollout {
  index: number;
  kind: WaveKind;
  state: WaveState;
  cells: CellRollout[];
  deployedAt?: string;
  promotedAt?: string;
  rolledBackAt?: string;
  /** Why the wave failed its gate (or was rolled back), in words. */
  verdict?: string;
}

/** Something the rollout must still tell the world about, kept with the state until it is sent. */
export type OutboxEntry =
  | { kind: 'event'; name: ReleaseEventName; cellId: string | null; wave: number | null; idempotencyKey: string; detail: Record<string, unknown> }
  | { kind: 'audit'; cellId: string; auditId: string; at: string; action: string; reason?: string; after?: unknown };

export type ReleaseEventName = 'ReleaseStarted' | 'WaveDeployed' | 'WavePromoted' | 'WaveRolledBack' | 'ReleaseFinished';

export interface Rollout {
  releaseId: string;
  commit: string;
  status: RolloutStatus;
  gate: GateSettings;
  waves: WaveRollout[];
  actor: string;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Why it ended as it did, or why it is rolling back. */
  reason?: string;
  /** Held before the first wave of this kind until an approval releases it (CI's enterprise approval). */
  hold?: 'dedicated';
  /** Set by an operator's abort or rollback; the driver acts on it at its next step. */
  stopRequested?: { mode: 'abort' | 'rollback'; actor: string; reason: string; at: string };
  /** Events and cell audit records of the last steps, not yet sent (sent, then cleared, by the next step). */
  outbox: OutboxEntry[];
  /** The driver working on it, until when: a crashed driver's lease runs out and another resumes. */
  driver?: { owner: string; until: number };
  version: number;
}

export interface ReleaseStore {
  db: DynamoDBDocumentClient;
  tableName: string;
}

function defaultStore(): ReleaseStore {
  return { db: systemDocumentClient(), tableName: tenantsTable() };
}

/**
 * Records a release's manifest under its content-derived id. Writing the same manifest again is a
 * no-op (same content, same id); the id is computed here, never taken from the caller.
 */
export async function registerManifest(manifest: ReleaseManifest, store: ReleaseStore = defaultStore()): Promise<string> {
  const releaseId = releaseIdOf(manifest);
  try {
    await store.db.send(
      new PutCommand({
        TableName: store.tableName,
        Item: { ...releaseKey(releaseId, 'MANIFEST'), type: 'release-manifest', releaseId, manifest },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  return releaseId;
}

export async function getManifest(releaseId: string, store: ReleaseStore = defaultStore()): Promise<ReleaseManifest | undefined> {
  if (!isReleaseId(releaseId)) return undefined;
  const { Item } = await store.db.send(new GetCommand({ TableName: store.tableName, Key: releaseKey(releaseId, 'MANIFEST'), ConsistentRead: true }));
  return Item ? (Item.manifest as ReleaseManifest) : undefined;
}

export async function requireManifest(releaseId: string, store?: ReleaseStore): Promise<ReleaseManifest> {
  const manifest = await getManifest(releaseId, store);
  if (!manifest) throw new ReleaseNotFound();
  return manifest;
}

function toRollout(item: Record<string, unknown>): Rollout {
  const { PK: _pk, SK: _sk, GSI1PK: _gpk, GSI1SK: _gsk, type: _type, ...rollout } = item;
  return rollout as unknown as Rollout;
}

export async function getRollout(releaseId: string, store: ReleaseStore = defaultStore()): Promise<Rollout | undefined> {
  if (!isReleaseId(releaseId)) return undefined;
  const { Item } = await store.db.send(new GetCommand({ TableName: store.tableName, Key: releaseKey(releaseId, 'ROLLOUT'), ConsistentRead: true }));
  return Item ? toRollout(Item) : undefined;
}

export async function requireRollout(releaseId: string, store?: ReleaseStore): Promise<Rollout> {
  const rollout = await getRollout(releaseId, store);
  if (!rollout) throw new ReleaseNotFound();
  return rollout;
}

/** Writes a new rollout: only if the release was never rolled out. Returns false if it was. */
export async function createRollout(rollout: Rollout, store: ReleaseStore = defaultStore()): Promise<boolean> {
  try {
    await store.db.send(
      new PutCommand({
        TableName: store.tableName,
        Item: { ...releaseKey(rollout.releaseId, 'ROLLOUT'), ...releaseListingKey(rollout.releaseId, rollout.startedAt), type: 'release-rollout', ...rollout },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    return true;
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    return false;
  }
}

/** Replaces the rollout with `next` if it is still at `expectedVersion`; throws ConcurrentModification otherwise. */
export async function saveRollout(next: Rollout, expectedVersion: number, store: ReleaseStore = defaultStore()): Promise<Rollout> {
  const saved = { ...next, version: expectedVersion + 1 };
  try {
    await store.db.send(
      new PutCommand({
        TableName: store.tableName,
        Item: { ...releaseKey(saved.releaseId, 'ROLLOUT'), ...releaseListingKey(saved.releaseId, saved.startedAt), type: 'release-rollout', ...saved },
        ConditionExpression: '#version = :expected',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':expected': expectedVersion },
      }),
    );
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw new ConcurrentModification('The release changed meanwhile; read it again.', { cause: error });
    throw error;
  }
  return saved;
}

/** Every rollout, newest first, a page at a time. */
export async function listRollouts(options: { limit: number; after?: Record<string, unknown> }, store: ReleaseStore = defaultStore()) {
  const page = await store.db.send(
    new QueryCommand({
      TableName: store.tableName,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :releases',
      ExpressionAttributeValues: { ':releases': RELEASE_LISTING_PARTITION },
      ScanIndexForward: false,
      Limit: options.limit,
      ...(options.after ? { ExclusiveStartKey: options.after } : {}),
    }),
  );
  return { items: (page.Items ?? []).map(toRollout), lastKey: page.LastEvaluatedKey };
}

// The lease: one release rolling at a time.

export interface ReleaseLease {
  releaseId: string;
  since: string;
}

export async function activeLease(store: ReleaseStore = defaultStore()): Promise<ReleaseLease | undefined> {
  const { Item } = await store.db.send(new GetCommand({ TableName: store.tableName, Key: activeReleaseKey(), ConsistentRead: true }));
  return Item ? { releaseId: Item.releaseId as string, since: Item.since as string } : undefined;
}

/**
 * Takes the lease for `releaseId` under a token of the caller's; false if any release holds it
 * (this one included: each holder gives back only the lease it took, by its token).
 */
export async function takeLease(releaseId: string, since: string, token: string, store: ReleaseStore = defaultStore()): Promise<boolean> {
  try {
    await store.db.send(
      new PutCommand({
        TableName: store.tableName,
        Item: { ...activeReleaseKey(), type: 'release-lease', releaseId, since, token },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    return true;
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    return false;
  }
}

/** Gives the lease back, if `releaseId` holds it (and, given a token, only the lease taken under it). */
export async function releaseLease(releaseId: string, options: { token?: string; store?: ReleaseStore } = {}): Promise<void> {
  const store = options.store ?? defaultStore();
  try {
    await store.db.send(
      new DeleteCommand({
        TableName: store.tableName,
        Key: activeReleaseKey(),
        ConditionExpression: options.token ? 'releaseId = :releaseId AND #token = :token' : 'releaseId = :releaseId',
        ...(options.token ? { ExpressionAttributeNames: { '#token': 'token' } } : {}),
        ExpressionAttributeValues: { ':releaseId': releaseId, ...(options.token ? { ':token': options.token } : {}) },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}
