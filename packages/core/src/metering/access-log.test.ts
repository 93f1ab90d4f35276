import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gatewayUsageOf, parseRequestTime } from './access-log.js';
import { parseUsageEvent } from './usage-event.js';

/** A record as API Gateway writes it with the Cell stack's format: `-` for what it did not have. */
const AWS_RECORD = {
  requestId: '3f0c9a1e-5b7d-4c2a-9e8f-0a1b2c3d4e5f',
  requestTime: '03/Dec/2026:13:59:58 +0000',
  requestTimeEpoch: 1796306398123,
  httpMethod: 'POST',
  resourcePath: '/cases/{caseId}/notes',
  path: '/prod/cases/01J/notes',
  status: 201,
  responseLatency: 87,
  integrationLatency: '80',
  tenantId: 'acme-1a2b',
  cellId: 'cell-1',
  tier: 'standard',
  principalId: 'user-sub-1',
  apiKeyId: 'k1a2b3c4d5',
  errorType: '-',
  authorizerError: '-',
  integrationError: '-',
  sourceIp: '203.0.113.9',
  userAgent: 'curl/8.5.0',
  xrayTraceId: 'Root=1-6750-abc',
};

/** A record as the local gateway writes it (packages/local/src/gateway/rest-gateway.ts): the same names. */
const LOCAL_THROTTLED = {
  requestId: 'b8f1d2c3-0000-4000-8000-000000000001',
  requestTime: '03/Dec/2026:14:00:01 +0000',
  requestTimeEpoch: 1796306401500,
  httpMethod: 'GET',
  resourcePath: '/cases',
  path: '/local/cases',
  status: 429,
  responseLatency: 3,
  integrationLatency: '-',
  tenantId: 'acme-1a2b',
  cellId: 'cell-1',
  tier: 'standard',
  principalId: 'user-sub-1',
  apiKeyId: 'abc123',
  errorType: 'THROTTLED',
  authorizerError: '-',
  integrationError: '-',
  sourceIp: '127.0.0.1',
  userAgent: '-',
  xrayTraceId: '-',
  apiId: 'local1',
};

describe('gatewayUsageOf', () => {
  it("reads an AWS access log record into a valid gateway usage event of the log's cell", () => {
    const event = gatewayUsageOf(AWS_RECORD, 'cell-1');
    expect(event).not.toBeNull();
    expect(parseUsageEvent(event)).toEqual({ ok: true, event });
    expect(event).toMatchObject({
      tenantId: 'acme-1a2b',
      cellId: 'cell-1',
      tier: 'standard',
      idempotencyKey: 'gateway:3f0c9a1e-5b7d-4c2a-9e8f-0a1b2c3d4e5f',
      occurredAt: new Date(1796306398123).toISOString(),
      actor: 'user-sub-1',
      data: { kind: 'gateway', route: 'POST /cases/{caseId}/notes', status: 201, latencyMs: 87, outcome: 'integration' },
    });
  });

  it('reads a local gateway record, with the same names, the same way', () => {
    expect(gatewayUsageOf(LOCAL_THROTTLED, 'cell-1')).toMatchObject({
      idempotencyKey: 'gateway:b8f1d2c3-0000-4000-8000-000000000001',
      occurredAt: '2026-12-03T14:00:01.500Z',
      data: { route: 'GET /cases', status: 429, latencyMs: 3, outcome: 'throttled' },
    });
  });

  it.each([
    ['-', 'integration'],
    ['THROTTLED', 'throttled'],
    ['QUOTA_EXCEEDED', 'quota'],
    ['ACCESS_DENIED', 'refused'],
    ['INVALID_API_KEY', 'refused'],
    ['INTEGRATION_FAILURE', 'refused'],
  ])('errorType %s is the outcome %s', (errorType, outcome) => {
    expect(gatewayUsageOf({ ...AWS_RECORD, errorType }, 'cell-1')?.data.outcome).toBe(outcome);
  });

  it('names the cell whose log it is, never the cell the record claims', () => {
    expect(gatewayUsageOf({ ...AWS_RECORD, cellId: 'cell-2' }, 'cell-1')?.cellId).toBe('cell-1');
  });

  it('is the same event however often the record is delivered', () => {
    expect(gatewayUsageOf(AWS_RECORD, 'cell-1')).toEqual(gatewayUsageOf(structuredClone(AWS_RECORD), 'cell-1'));
  });

  it('falls back to requestTime (whole seconds) without requestTimeEpoch', () => {
    const { requestTimeEpoch: _epoch, ...record } = AWS_RECORD;
    expect(gatewayUsageOf(record, 'cell-1')?.occurredAt).toBe('2026-12-03T13:59:58.000Z');
  });

  it.each([
    ['no tenant (refused before the authorizer knew one)', { tenantId: '-' }],
    ['an empty tenant', { tenantId: '' }],
    ['a tenant id that is not one', { tenantId: 'TENANT#x' }],
    ['no tier', { tier: '-' }],
    ['no request id', { requestId: '-' }],
    ['no time', { requestTimeEpoch: '-', requestTime: '-' }],
    ['a status that is not a number', { status: 'oops' }],
    ['a status outside HTTP', { status: 0 }],
    ['a time past the calendar', { requestTimeEpoch: 8_000_000_000_000_000 }],
    ['a time ULIDs cannot encode', { requestTimeEpoch: 281_474_976_710_656 }],
  ])('is null for a record with %s', (_case, change) => {
    expect(gatewayUsageOf({ ...AWS_RECORD, ...change }, 'cell-1')).toBeNull();
  });

  it('is null for anything that is not a record, and never throws', () => {
    for (const value of [null, undefined, 'text', 42, [AWS_RECORD]]) expect(gatewayUsageOf(value, 'cell-1')).toBeNull();
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const event = gatewayUsageOf(value, 'cell-1');
        return event === null || parseUsageEvent(event).ok;
      }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...Object.keys(AWS_RECORD)), fc.oneof(fc.string(), fc.integer(), fc.constant('-'))), (change) => {
        const event = gatewayUsageOf({ ...AWS_RECORD, ...change }, 'cell-1');
        return event === null || parseUsageEvent(event).ok;
      }),
    );
  });
});

describe('parseRequestTime', () => {
  it('reads the CLF time API Gateway logs, with its offset', () => {
    expect(parseRequestTime('03/Dec/2026:13:45:07 +0000')).toBe(Date.parse('2026-12-03T13:45:07Z'));
    expect(parseRequestTime('03/Dec/2026:15:45:07 +0200')).toBe(Date.parse('2026-12-03T13:45:07Z'));
  });

  it('refuses anything else', () => {
    for (const value of ['2026-12-03T13:45:07Z', '03/Foo/2026:13:45:07 +0000', '']) expect(parseRequestTime(value)).toBeUndefined();
  });
});
