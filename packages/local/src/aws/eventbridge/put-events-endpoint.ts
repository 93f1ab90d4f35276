/**
 * The PutEvents endpoint (JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`): a signed caller, IAM per
 * bus with the `events:source` and `events:detail-type` condition keys, per-entry failures in a 200
 * answer, and every accepted event handed to `route`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventBridgeEvent } from '../eventbridge.js';
import { JSON_11, headerValue, parseJsonObject, parseJsonText, sendJson, sendJsonError, type JsonObject } from '../json-protocol.js';
import { readSignedRequest } from '../sigv4-verifier.js';
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_REGION,
  isAwsError,
  type AuthorizationRequest,
  type Authenticate,
  type Authorize,
  type Clock,
  type RequestListener,
  type RoleSession,
} from '../types.js';
import { resolveBus } from './bus-arns.js';
import type { AcceptedEntry } from './delivery.js';
import { EventBridgeError, readEntries, serializationError, type EntryInput } from './put-events-request.js';

const TARGET = 'AWSEvents.PutEvents';
/** 256 KB of entries even when JSON escaping doubles them, plus framing; larger bodies are refused unread. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

export interface PutEventsEndpointOptions {
  authenticate: Authenticate;
  authorize: Authorize;
  now: Clock;
  /** Takes each accepted event on to the rules of its bus. */
  route: (accepted: AcceptedEntry) => void;
}

export function createPutEventsListener({ authenticate, authorize, now, route }: PutEventsEndpointOptions): RequestListener {
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

  return listener;
}

/** Event `time` is second-precision UTC, e.g. 2017-12-22T18:43:48Z. */
function isoSeconds(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}
