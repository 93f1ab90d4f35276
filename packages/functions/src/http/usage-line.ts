/**
 * The data plane's usage line (DESIGN §10): when a tenant's request ends — with a response or an
 * error answered by `errorResponse` — one structured log line says what it consumed (core's
 * `usageLogLine`). A log subscription carries it to the control plane's ledger; nothing is called on
 * the request path. `METERING=off` turns it off (the benchmark compares both in one run).
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { RequestUsage, requestUsageEvent } from '@cellbook/core/metering/meter';
import { usageLogLine } from '@cellbook/core/metering/usage-event';
import type { TenantContext } from '@cellbook/core/tenancy/tenant-context';
import { logger } from '../observability.js';

export interface MeteredContext extends Context {
  tenant?: TenantContext;
  /** The request's accumulator; absent when metering is off. */
  usage?: RequestUsage;
  /** `performance.now()` when the request's middleware began: the function's duration is measured from there. */
  usageStartedAt?: number;
}

export function meteringEnabled(): boolean {
  return process.env.METERING !== 'off';
}

/** Where usage lines go: the function's standard output, which is its log stream. Tests replace it. */
export type UsageLineWriter = (line: string) => void;
const writeToLog: UsageLineWriter = (line) => void process.stdout.write(`${line}\n`);

/**
 * Opens the request's accumulator before anything else runs and writes its usage line last. Use it
 * outside `errorResponse` so that it sees the status a failed request was answered with.
 */
export function usageLine(write: UsageLineWriter = writeToLog): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, MeteredContext> {
  const record = (request: { event: APIGatewayProxyEvent; context: MeteredContext; response: APIGatewayProxyResult | undefined | null }) => {
    const { tenant, usage, usageStartedAt = performance.now() } = request.context;
    // A request refused before its tenant was known is no tenant's usage (the access log still has it).
    if (!tenant || !usage || !request.response) return;
    const durationMs = performance.now() - usageStartedAt;
    const memoryMb = Number(request.context.memoryLimitInMB) || 0;
    usage.add('apiRequests', 1);
    usage.add('functionGbMs', (durationMs * memoryMb) / 1024);
    const { requestContext } = request.event;
    const event = requestUsageEvent({
      tenant,
      requestId: requestContext.requestId,
      route: `${request.event.httpMethod} ${request.event.resource}`,
      status: request.response.statusCode,
      occurredAt: new Date(requestContext.requestTimeEpoch || Date.now()),
      quantities: usage.quantities(),
    });
    write(usageLogLine(event));
  };
  // Metering never fails a request: a line that cannot be written is an error in the function's log.
  const recordSafely: typeof record = (request) => {
    try {
      record(request);
    } catch (error) {
      logger.error('usage line not written', error as Error);
    }
  };
  return {
    before: (request) => {
      // Nothing of an earlier invocation's survives on a reused context object.
      delete request.context.usage;
      delete request.context.usageStartedAt;
      if (!meteringEnabled()) return;
      request.context.usageStartedAt = performance.now();
      request.context.usage = new RequestUsage();
    },
    after: (request) => recordSafely(request),
    onError: (request) => recordSafely(request),
  };
}
