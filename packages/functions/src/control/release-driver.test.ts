import type { Context, ScheduledEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** The orchestrator is the lead's (core); here only what the scheduled function hands it is checked. */
const advanceActiveRelease = vi.fn(async (_deps: unknown, _options: { deadlineMs: number }) => undefined);
vi.mock('@cellbook/core/releases/orchestrator', () => ({ advanceActiveRelease }));

const { handler, DEADLINE_MARGIN_MS } = await import('./release-driver.js');

const context = (remainingMs: number) => ({ awsRequestId: 'req-1', getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  vi.stubEnv('CELL_STACK_PREFIX', 'prod-cellbook');
  vi.stubEnv('RELEASE_BUCKET', 'releases-bucket');
  advanceActiveRelease.mockClear();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('control/release-driver', () => {
  it('steps the active release until a little before the function times out', async () => {
    await handler({} as ScheduledEvent, context(60_000));
    expect(advanceActiveRelease).toHaveBeenCalledTimes(1);
    const [deps, options] = advanceActiveRelease.mock.calls[0]!;
    expect(options.deadlineMs).toBe(1_000_000 + 60_000 - DEADLINE_MARGIN_MS);
    expect(DEADLINE_MARGIN_MS).toBeGreaterThan(0);
    expect(deps).toMatchObject({ owner: 'release-driver:req-1', deployer: expect.any(Object), telemetry: expect.any(Object), probe: expect.any(Object) });
  });

  it('gives no time at all (a deadline already passed) to an invocation started too close to its timeout', async () => {
    await handler({} as ScheduledEvent, context(DEADLINE_MARGIN_MS - 1));
    expect(advanceActiveRelease.mock.calls[0]![1].deadlineMs).toBe(1_000_000);
  });

  it('refuses to run without the release bucket or the cell stacks’ prefix', async () => {
    vi.stubEnv('RELEASE_BUCKET', '');
    await expect(handler({} as ScheduledEvent, context(60_000))).rejects.toThrow(/RELEASE_BUCKET/);
    expect(advanceActiveRelease).not.toHaveBeenCalled();
  });
});
