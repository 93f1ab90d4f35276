/**
 * Local Amazon EventBridge: the PutEvents endpoint (JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`),
 * so the real `EventBridgeClient` publishes to it unchanged, plus a programmatic "deployment" API
 * (buses, rules, targets) that the local platform drives the way the stacks drive CloudFormation.
 *
 * Behaviour kept from the real service:
 * - per-entry failures (missing Source/DetailType/Detail, a Detail that is not a JSON object) come
 *   back with HTTP 200 as `ErrorCode`/`ErrorMessage` and count in `FailedEntryCount`;
 * - request-level failures (0 or more than 10 entries, more than 256 KB of entries, a caller
 *   without `events:PutEvents` on a bus it names) are 400 errors and nothing is accepted; the
 *   `events:source` / `events:detail-type` condition keys reach IAM as arrays (IAM types them
 *   ArrayOfString: one request carries every entry's value);
 * - an entry for a bus that does not exist is accepted with an EventId and then dropped, exactly as
 *   AWS does (aws/aws-sdk#186); `onUnknownBus` exists so the platform can at least log it;
 * - delivery is asynchronous: PutEvents answers before any target runs.
 *
 * Delivery is ours: a target is a local function, attempted up to `maxAttempts` times in all with
 * exponential backoff, then dead-lettered. In AWS the retry policy and the DLQ belong to each
 * target and retries cover failed invocations only; locally a throwing target counts as a failed
 * invocation, which is what a handler's tests need to see.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import { compilePattern, type EventMatcher } from './eventbridge-pattern.js';
import { readSignedRequest } from './sigv4-verifier.js';
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_REGION,
  isAwsError,
  systemClock,
  type AuthorizationRequest,
  type Authenticate,
  type Authorize,
  type Clock,
  type RequestListener,
  type RoleSession,
} from './types.js';
import { JSON_11, JsonProtocolError, headerValue, parseJsonObject, parseJsonText, sendJson, sendJsonError, type JsonObject } from './json-protocol.js';

/** An event as EventBridge hands it to targets. */
export interface EventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  /** ISO 8601 to the second, e.g. 2024-05-01T12:00:00Z */
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface RuleTarget {
  /** Unique within the rule, like a PutTargets `Id`. */
  id: string;
  /** The local invocation of the target; a rejection counts as a failed delivery and is retried. */
  deliver: (event: EventBridgeEvent) => Promise<void>;
}

export interface RuleDefinition {
  name: string;
  /** Defaults to `default`. */
  eventBusName?: string;
  /** An EventBridge event pattern; see eventbridge-pattern.ts for the supported operators. */
  eventPattern: object;
  /** At most five, as in AWS. */
  targets: RuleTarget[];
}

export interface DeadLetter {
  eventBusName: string;
  ruleName: string;
  targetId: string;
  event: EventBridgeEvent;
  /** The last failure, as `<name>: <message>`. */
  error: string;
  attempts: number;
}

export interface LocalEventBridgeOptions {
  authenticate: Authenticate;
  authorize: Authorize;
  now?: Clock;
  /** Delivery attempts per target, the first included. */
  maxAttempts?: number;
  /** Wait before the second attempt; each later wait doubles. */
  retryDelayMs?: number;
  /** How a retry waits; tests can substitute a recorder or an instant resolve. */
  sleep?: (ms: number) => Promise<void>;
  /** Called as each event is dead-lettered, e.g. to log it; a throw here makes `drain()` reject. */
  onDeadLetter?: (entry: DeadLetter) => void;
  /** Called for each accepted event whose bus does not exist (AWS drops it silently). */
  onUnknownBus?: (eventBusName: string, event: EventBridgeEvent) => void;
}

export interface LocalEventBridge {
  listener: RequestListener;
  /** The `default` bus exists from the start. */
  createEventBus(name: string): { name: string; arn: string };
  /** Creates or replaces a rule, like PutRule + PutTargets; refuses a pattern it cannot evaluate. */
  putRule(rule: RuleDefinition): { arn: string };
  /** Deletes the rule and its targets; deleting a rule that does not exist is not an error. */
  removeRule(name: string, eventBusName?: string): void;
  deadLetters(): DeadLetter[];
  /** Resolves once every delivery in flight, retries included, has settled. */
  drain(): Promise<void>;
}

interface Rule {
  name: string;
  eventBusName: string;
  matches: EventMatcher;
  targets: RuleTarget[];
}

interface AcceptedEntry {
  /** The name the entry addressed, or undefined when it names a bus of another account or region. */
  localBusName: string | undefined;
  requestedBus: string;
  event: EventBridgeEvent;
}

class EventBridgeError extends JsonProtocolError {}

const TARGET = 'AWSEvents.PutEvents';
const DEFAULT_BUS = 'default';
const MAX_ENTRIES = 10;
/** "The total entry size must be less than 256KB" (PutEvents quota). */
const MAX_REQUEST_ENTRY_BYTES = 256 * 1024;
/** The documented size of a `Time` parameter, whatever its value. */
const TIME_PARAMETER_BYTES = 14;
/** 256 KB of entries even when JSON escaping doubles them, plus framing; larger bodies are refused unread. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;
const MAX_TARGETS_PER_RULE = 5;
const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const TARGET_ID = /^[.\-_A-Za-z0-9]{1,64}$/;
const BUS_NAME = /^[.\-_A-Za-z0-9]{1,256}$/;
const BUS_ARN = /^arn:aws[\w-]*:events:([^:]+):(\d{12}):event-bus\/(.+)$/;

export function eventBusArn(name: string): string {
  return `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:event-bus/${name}`;
}

export function createLocalEventBridge(options: LocalEventBridgeOptions): LocalEventBridge {
  const { authenticate, authorize, now = systemClock, maxAttempts = 3, retryDelayMs = 50, sleep = (ms: number) => delay(ms), onDeadLetter, onUnknownBus } = options;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  if (!(retryDelayMs >= 0)) throw new Error(`retryDelayMs must be zero or more, got ${retryDelayMs}`);

  /** Bus name → rule name → rule. */
  const buses = new Map<string, Map<string, Rule>>([[DEFAULT_BUS, new Map()]]);
  const deadLettered: DeadLetter[] = [];
  const inFlight = new Set<Promise<void>>();
  /** Errors thrown by the hooks, surfaced by drain() so a broken sink fails the test that used it. */
  const hookErrors: unknown[] = [];

  // ── deployment API ──────────────────────────────────────────────────────────────────────────

  function createEventBus(name: string): { name: string; arn: string } {
    if (!BUS_NAME.test(name)) throw new Error(`Event bus name ${JSON.stringify(name)} must match ${BUS_NAME.source}`);
    if (buses.has(name)) throw new Error(`Event bus ${name} already exists.`);
    buses.set(name, new Map());
    return { name, arn: eventBusArn(name) };
  }

  function putRule(definition: RuleDefinition): { arn: string } {
    const { name, eventBusName = DEFAULT_BUS, eventPattern, targets } = definition;
    if (!RULE_NAME.test(name)) throw new Error(`Rule name ${JSON.stringify(name)} must match ${RULE_NAME.source}`);
    const rules = buses.get(eventBusName);
    if (!rules) throw new Error(`Event bus ${eventBusName} does not exist.`);
    if (targets.length > MAX_TARGETS_PER_RULE) {
      throw new Error(`Rule ${name} has ${targets.length} targets; EventBridge allows at most ${MAX_TARGETS_PER_RULE} per rule`);
    }
    const ids = new Set<string>();
    for (const target of targets) {
      if (!TARGET_ID.test(target.id)) throw new Error(`Target id ${JSON.stringify(target.id)} must match ${TARGET_ID.source}`);
      if (ids.has(target.id)) throw new Error(`Rule ${name} has two targets with id ${target.id}`);
      ids.add(target.id);
    }
    // Compiling validates: a pattern AWS would reject, or one we cannot evaluate, never gets deployed.
    const matches = compilePattern(eventPattern);
    rules.set(name, { name, eventBusName, matches, targets: [...targets] });
    return { arn: ruleArn(eventBusName, name) };
  }

  function removeRule(name: string, eventBusName: string = DEFAULT_BUS): void {
    buses.get(eventBusName)?.delete(name);
  }

  function deadLetters(): DeadLetter[] {
    return structuredClone(deadLettered);
  }

  async function drain(): Promise<void> {
    // A target may publish in turn, so keep waiting until nothing new was started.
    while (inFlight.size > 0) await Promise.all(inFlight);
    const errors = hookErrors.splice(0);
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'EventBridge hooks failed');
  }

  // ── delivery ────────────────────────────────────────────────────────────────────────────────

  /** Runs work after the current turn, so the PutEvents response is written before any target runs. */
  function inBackground(work: () => Promise<void>): void {
    const settled = nextTurn()
      .then(work)
      .catch((error: unknown) => {
        hookErrors.push(error);
      });
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
  }

  function route(accepted: AcceptedEntry): void {
    const rules = accepted.localBusName === undefined ? undefined : buses.get(accepted.localBusName);
    if (!rules) {
      if (onUnknownBus) inBackground(async () => onUnknownBus(accepted.requestedBus, structuredClone(accepted.event)));
      return;
    }
    for (const rule of rules.values()) {
      if (!rule.matches(accepted.event)) continue;
      for (const target of rule.targets) inBackground(() => deliver(rule, target, accepted.event));
    }
  }

  async function deliver(rule: Rule, target: RuleTarget, event: EventBridgeEvent): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) await sleep(retryDelayMs * 2 ** (attempt - 2));
      try {
        // Each target gets its own copy, as each gets its own serialized event in AWS.
        await target.deliver(structuredClone(event));
        return;
      } catch (error) {
        lastError = error;
      }
    }
    const entry: DeadLetter = {
      eventBusName: rule.eventBusName,
      ruleName: rule.name,
      targetId: target.id,
      event: structuredClone(event),
      error: describeError(lastError),
      attempts: maxAttempts,
    };
    deadLettered.push(entry);
    onDeadLetter?.(structuredClone(entry));
  }

  // ── PutEvents ───────────────────────────────────────────────────────────────────────────────

  async function putEvents(caller: RoleSession, input: JsonObject): Promise<JsonObject> {
    const entries = readEntries(input);
    await authorizeEntries(caller, entries);
    const results: JsonObject[] = [];
    let failed = 0;
    for (const entry of entries) {
      const outcome = acceptEntry(entry);
      if ('ErrorCode' in outcome) {
        failed++;
        results.push(outcome);
        continue;
      }
      results.push({ EventId: outcome.event.id });
      route(outcome);
    }
    return { FailedEntryCount: failed, Entries: results };
  }

  /**
   * One decision per bus, in request order. IAM types `events:source` and `events:detail-type` as
   * ArrayOfString: a request carries every source (and detail type) of its entries for that bus, so
   * a policy scopes them with ForAllValues. A refusal rejects the whole request, as in AWS.
   */
  async function authorizeEntries(caller: RoleSession, entries: EntryInput[]): Promise<void> {
    const perBus = new Map<string, { sources: Set<string>; detailTypes: Set<string> }>();
    for (const entry of entries) {
      const resource = resolveBus(entry.EventBusName).arn;
      const keys = perBus.get(resource) ?? { sources: new Set<string>(), detailTypes: new Set<string>() };
      perBus.set(resource, keys);
      if (entry.Source !== undefined) keys.sources.add(entry.Source);
      if (entry.DetailType !== undefined) keys.detailTypes.add(entry.DetailType);
    }
    for (const [resource, { sources, detailTypes }] of perBus) {
      const check: AuthorizationRequest = {
        action: 'events:PutEvents',
        resource,
        context: { 'events:source': [...sources], 'events:detail-type': [...detailTypes] },
      };
      const decision = await authorize(caller, check);
      if (!decision.allowed) {
        throw new EventBridgeError(
          'AccessDeniedException',
          `User: ${caller.assumedRoleArn} is not authorized to perform: ${check.action} on resource: ${resource} ${decision.reason}`,
        );
      }
    }
  }

  function acceptEntry(entry: EntryInput): AcceptedEntry | { ErrorCode: string; ErrorMessage: string } {
    for (const member of ['Source', 'DetailType', 'Detail'] as const) {
      if (entry[member] === undefined) {
        return { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${member} is not valid. Reason: ${member} is a required argument.` };
      }
    }
    const detail = parseJsonText(entry.Detail ?? '');
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    const bus = resolveBus(entry.EventBusName);
    const event: EventBridgeEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType ?? '',
      source: entry.Source ?? '',
      account: LOCAL_ACCOUNT_ID,
      time: isoSeconds(entry.Time === undefined ? now() : entry.Time * 1000),
      region: LOCAL_REGION,
      resources: entry.Resources ?? [],
      detail: detail as Record<string, unknown>,
    };
    return { localBusName: bus.localName, requestedBus: bus.requested, event };
  }

  // ── HTTP ────────────────────────────────────────────────────────────────────────────────────

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || path !== '/') {
      req.resume();
      return sendJson(res, 404, { message: 'Not Found' }, 'application/json');
    }
    const signed = await readSignedRequest(req, 'events', MAX_BODY_BYTES);
    if (isAwsError(signed)) throw new EventBridgeError(signed.code, signed.message, signed.status);
    const caller = await authenticate(signed);
    if (isAwsError(caller)) throw new EventBridgeError(caller.code, caller.message, caller.status);
    const target = headerValue(req, 'x-amz-target');
    if (target !== TARGET) {
      // The rest of the API (PutRule, PutTargets, …) is the programmatic deployment API here.
      throw new EventBridgeError('UnknownOperationException', `The local EventBridge serves ${TARGET} only, not ${target ?? '(missing X-Amz-Target)'}`);
    }
    sendJson(res, 200, await putEvents(caller, parseJsonObject(signed.body, serializationError)));
  }

  const listener: RequestListener = (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof EventBridgeError) {
        sendJsonError(res, error);
        return;
      }
      // Anything unexpected is our bug: log the detail here, give the caller EventBridge's generic answer.
      console.error('[local eventbridge] request failed', error);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, 500, { __type: 'InternalException', message: 'Internal service error.' }, JSON_11, 'InternalException');
    });
  };

  return { listener, createEventBus, putRule, removeRule, deadLetters, drain };
}

// ── request parsing (pure) ─────────────────────────────────────────────────────────────────────

interface EntryInput {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  /** Epoch seconds, as JSON 1.1 serializes timestamps. */
  Time?: number;
}

/** Request-level validation: everything that makes AWS refuse the request rather than an entry. */
function readEntries(input: JsonObject): EntryInput[] {
  const raw = input.Entries;
  if (raw === undefined || raw === null) {
    throw validationError("1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
  }
  if (!Array.isArray(raw)) throw serializationError();
  if (raw.length < 1) {
    throw validationError("1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1");
  }
  if (raw.length > MAX_ENTRIES) {
    throw validationError(
      "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10",
    );
  }
  const entries = raw.map(readEntry);
  if (entries.reduce((total, entry) => total + entrySize(entry), 0) > MAX_REQUEST_ENTRY_BYTES) {
    throw validationError('Total size of the entries in the request is over the limit.');
  }
  return entries;
}

function readEntry(raw: unknown): EntryInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw serializationError();
  const input = raw as JsonObject;
  const entry: EntryInput = {};
  // An empty string is what an SDK sends for a member set to ''; the service treats it as absent.
  for (const member of ['Source', 'DetailType', 'Detail', 'EventBusName'] as const) {
    const value = input[member];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw serializationError();
    if (value !== '') entry[member] = value;
  }
  const resources = input.Resources;
  if (resources !== undefined && resources !== null) {
    if (!Array.isArray(resources) || resources.some((resource) => typeof resource !== 'string')) throw serializationError();
    entry.Resources = resources as string[];
  }
  const time = input.Time;
  if (time !== undefined && time !== null) {
    if (typeof time !== 'number' || !Number.isFinite(time)) throw serializationError();
    entry.Time = time;
  }
  return entry;
}

/** The documented PutEventsRequestEntry size (eb-putevent-size). */
function entrySize(entry: EntryInput): number {
  let size = entry.Time === undefined ? 0 : TIME_PARAMETER_BYTES;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text !== undefined) size += Buffer.byteLength(text, 'utf8');
  }
  return size;
}

/** EventBusName may be a name or an ARN; a bus of another account or region is never local. */
function resolveBus(nameOrArn: string | undefined): { requested: string; arn: string; localName: string | undefined } {
  const requested = nameOrArn ?? DEFAULT_BUS;
  const match = BUS_ARN.exec(requested);
  if (!match) return { requested, arn: eventBusArn(requested), localName: requested };
  const [, region, account, name] = match;
  const local = region === LOCAL_REGION && account === LOCAL_ACCOUNT_ID;
  return { requested, arn: requested, localName: local ? name : undefined };
}

function ruleArn(eventBusName: string, ruleName: string): string {
  const path = eventBusName === DEFAULT_BUS ? ruleName : `${eventBusName}/${ruleName}`;
  return `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:rule/${path}`;
}

/** Event `time` is second-precision UTC, e.g. 2017-12-22T18:43:48Z. */
function isoSeconds(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function validationError(message: string): EventBridgeError {
  return new EventBridgeError('ValidationException', message);
}

function serializationError(): EventBridgeError {
  return new EventBridgeError('SerializationException', 'Start of structure or map found where not expected.');
}
