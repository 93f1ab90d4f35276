/**
 * Delivery to rule targets, which is ours rather than AWS's: every matching target runs in the
 * background after the PutEvents response, attempted up to `maxAttempts` times in all with
 * exponential backoff, then dead-lettered.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { EventMatcher } from '../eventbridge-pattern.js';
import type { DeadLetter, EventBridgeEvent, LocalEventBridgeOptions, RuleTarget } from '../eventbridge.js';

export interface Rule {
  name: string;
  eventBusName: string;
  matches: EventMatcher;
  targets: RuleTarget[];
}

export interface AcceptedEntry {
  /** The name the entry addressed, or undefined when it names a bus of another account or region. */
  localBusName: string | undefined;
  requestedBus: string;
  event: EventBridgeEvent;
}

export interface DeliveryOptions extends Pick<LocalEventBridgeOptions, 'onDeadLetter' | 'onUnknownBus'> {
  /** The rules of a bus, or undefined when the bus does not exist. */
  rulesOf: (eventBusName: string) => ReadonlyMap<string, Rule> | undefined;
  maxAttempts: number;
  retryDelayMs: number;
  sleep: (ms: number) => Promise<void>;
}

export function createDelivery({ rulesOf, maxAttempts, retryDelayMs, sleep, onDeadLetter, onUnknownBus }: DeliveryOptions) {
  const deadLettered: DeadLetter[] = [];
  const inFlight = new Set<Promise<void>>();
  /** Errors thrown by the hooks, surfaced by drain() so a broken sink fails the test that used it. */
  const hookErrors: unknown[] = [];

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
    const rules = accepted.localBusName === undefined ? undefined : rulesOf(accepted.localBusName);
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

  return { route, deadLetters, drain };
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
