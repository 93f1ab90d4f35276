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
import { setTimeout as delay } from 'node:timers/promises';
import { compilePattern } from './eventbridge-pattern.js';
import { DEFAULT_BUS, eventBusArn, ruleArn } from './eventbridge/bus-arns.js';
import { createDelivery, type Rule } from './eventbridge/delivery.js';
import { createPutEventsListener } from './eventbridge/put-events-endpoint.js';
import { systemClock, type Authenticate, type Authorize, type Clock, type RequestListener } from './types.js';

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

const MAX_TARGETS_PER_RULE = 5;
const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const TARGET_ID = /^[.\-_A-Za-z0-9]{1,64}$/;
const BUS_NAME = /^[.\-_A-Za-z0-9]{1,256}$/;

export function createLocalEventBridge(options: LocalEventBridgeOptions): LocalEventBridge {
  const { authenticate, authorize, now = systemClock, maxAttempts = 3, retryDelayMs = 50, sleep = (ms: number) => delay(ms), onDeadLetter, onUnknownBus } = options;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  if (!(retryDelayMs >= 0)) throw new Error(`retryDelayMs must be zero or more, got ${retryDelayMs}`);

  /** Bus name → rule name → rule. */
  const buses = new Map<string, Map<string, Rule>>([[DEFAULT_BUS, new Map()]]);
  const { route, deadLetters, drain } = createDelivery({ rulesOf: (name) => buses.get(name), maxAttempts, retryDelayMs, sleep, onDeadLetter, onUnknownBus });
  const listener = createPutEventsListener({ authenticate, authorize, now, route });

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

  return { listener, createEventBus, putRule, removeRule, deadLetters, drain };
}
