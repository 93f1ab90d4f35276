import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { meter } from '@cellbook/core/metering/meter';
import { parseUsageEvent, USAGE_LOG_TYPE } from '@cellbook/core/metering/usage-event';
import { CaseNotFound } from '@cellbook/core/shared/errors';
import type { TenantContext } from '@cellbook/core/tenancy/tenant-context';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeTenantContext } from '../auth/authorizer-context.js';
import { tenantApi } from './api-handler.js';
import { ok } from './responses.js';

const TENANT: TenantContext = {
  tenantId: 'acme-1a2b',
  tier: 'premium',
  cellId: 'cell-2',
  userId: 'u-1',
  username: 'ann@example.com',
  roles: ['admin'],
  overrides: {},
};
const RECEIVED = Date.parse('2026-12-03T13:59:59.500Z');

function apiEvent(requestId: string, authorizer: Record<string, string> | null = encodeTenantContext(TENANT)): APIGatewayProxyEvent {
  return {
    resource: '/cases/{caseId}/notes',
    path: '/cases/c-1/notes',
    httpMethod: 'POST',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { caseId: 'c-1' },
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId, requestTimeEpoch: RECEIVED, ...(authorizer ? { authorizer } : {}) } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

const context = (): Context => ({ awsRequestId: 'lambda-1', memoryLimitInMB: '1024', functionName: 'f', getRemainingTimeInMillis: () => 10_000 }) as unknown as Context;

/** Every usage line the function wrote to its log (its standard output). */
let usageLines: unknown[];
beforeEach(() => {
  usageLines = [];
  // The function's log is its standard output: usage lines are kept here, the rest (error logs) dropped.
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n')) {
      if (line.includes(USAGE_LOG_TYPE)) usageLines.push(JSON.parse(line));
    }
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.METERING;
});

describe('tenantApi usage line', () => {
  it("writes one usage line per request: request:<requestId>, the route, status, and what core metered, from the tenant's context", async () => {
    const handler = tenantApi(async () => {
      meter('notesCreated', 1);
      return ok({});
    });
    const response = await handler(apiEvent('req-1'), context());
    expect(response.statusCode).toBe(200);
    expect(usageLines).toHaveLength(1);
    const [logged] = usageLines as [{ type: string; usage: unknown }];
    expect(logged.type).toBe('cellbook.usage');
    const parsed = parseUsageEvent(logged.usage);
    expect(parsed.ok).toBe(true);
    expect(logged.usage).toMatchObject({
      tenantId: 'acme-1a2b',
      cellId: 'cell-2',
      tier: 'premium',
      idempotencyKey: 'request:req-1',
      occurredAt: '2026-12-03T13:59:59.500Z',
      data: { kind: 'request', route: 'POST /cases/{caseId}/notes', status: 200, quantities: { apiRequests: 1, notesCreated: 1 } },
    });
    // Duration × 1024 MB / 1024, rounded up: at least 1 GB-ms for any request.
    expect((logged.usage as { data: { quantities: { functionGbMs: number } } }).data.quantities.functionGbMs).toBeGreaterThanOrEqual(1);
  });

  it('writes it for a request that ended in an error response too, with the status the client got', async () => {
    const handler = tenantApi(async () => {
      throw new CaseNotFound();
    });
    const response = await handler(apiEvent('req-2'), context());
    expect(response.statusCode).toBe(404);
    expect(usageLines).toHaveLength(1);
    expect(usageLines[0]).toMatchObject({ usage: { idempotencyKey: 'request:req-2', data: { status: 404, quantities: { apiRequests: 1 } } } });
  });

  it('writes it for an unexpected failure answered 500', async () => {
    const handler = tenantApi(async () => {
      throw new Error('boom');
    });
    expect((await handler(apiEvent('req-3'), context())).statusCode).toBe(500);
    expect(usageLines).toMatchObject([{ usage: { data: { status: 500 } } }]);
  });

  it('writes none for a request without a tenant (no one to charge; the access log still has it)', async () => {
    const handler = tenantApi(async () => ok({}));
    expect((await handler(apiEvent('req-4', null), context())).statusCode).toBe(500);
    expect(usageLines).toEqual([]);
  });

  it('writes none with METERING=off, and the request is answered the same', async () => {
    process.env.METERING = 'off';
    const handler = tenantApi(async () => {
      meter('casesCreated', 1);
      return ok({ fine: true });
    });
    expect((await handler(apiEvent('req-5'), context())).statusCode).toBe(200);
    expect(usageLines).toEqual([]);
  });
});
