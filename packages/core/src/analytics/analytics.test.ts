import { describe, expect, it } from 'vitest';
import { ValidationFailed } from '../shared/errors.js';
import { onChange, onCreate } from './aggregates.js';
import { countCreatedBefore, MAX_RANGE_DAYS, reportRange } from './analytics.js';

const now = new Date('2026-12-03T15:30:00.000Z');

function rejection(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('Analytics.reportRange', () => {
  it('defaults to the last 30 days, today included', () => {
    expect(reportRange({}, now)).toEqual({ from: '2026-11-04', to: '2026-12-03' });
  });

  it(`accepts ${MAX_RANGE_DAYS} days and refuses one more, a reversed range and a day after today`, () => {
    expect(reportRange({ from: '2026-09-03', to: '2026-12-03' }, now)).toEqual({ from: '2026-09-03', to: '2026-12-03' });
    for (const input of [{ from: '2026-09-02', to: '2026-12-03' }, { from: '2026-12-02', to: '2026-12-01' }, { to: '2026-12-04' }]) {
      expect(
        rejection(() => reportRange(input, now)),
        JSON.stringify(input),
      ).toBeInstanceOf(ValidationFailed);
    }
  });
});

describe('Analytics past the target age', () => {
  const opened = [
    { SK: 'OPENED#2026-11-30', h09: 2, h23: 1 },
    { SK: 'OPENED#2026-12-02', h14: 4, h15: 8, h16: 16 },
  ];

  it('counts the unresolved cases created in hours that ended by now minus the target age', () => {
    // 24 hours before 2026-12-03T15:30 is 2026-12-02T15:30: the 14:00 hour has ended, the 15:00 one not.
    expect(countCreatedBefore(opened, now.getTime() - 24 * 3_600_000)).toBe(2 + 1 + 4);
    expect(countCreatedBefore(opened, now.getTime() - 23 * 3_600_000)).toBe(2 + 1 + 4 + 8);
    expect(countCreatedBefore(opened, now.getTime() - 96 * 3_600_000)).toBe(0);
  });
});

describe('Analytics aggregates on write', () => {
  const created = { status: 'OPEN' as const, priority: 'high' as const, createdAt: '2026-12-01T10:15:00.000Z' };
  const names = (updates: ReturnType<typeof onCreate>) =>
    Object.fromEntries(
      updates.map(({ Update }) => [
        Update.Key.SK,
        Object.fromEntries(Object.entries(Update.ExpressionAttributeNames).map(([alias, name]) => [name, Update.ExpressionAttributeValues[`:d${alias.slice(2)}`]])),
      ]),
    );

  it('counts a creation in its status, its day and its creation hour', () => {
    expect(names(onCreate('cells', 't-1', created))).toEqual({
      STATE: { OPEN_high: 1 },
      'DAY#2026-12-01': { created: 1 },
      'OPENED#2026-12-01': { h10: 1 },
    });
  });

  it('moves a resolution between statuses, counts it on its day with its time to resolve, and leaves the unresolved', () => {
    // Two days (172,800 s) fall into bucket 127: 1.1^126 < 172,800 <= 1.1^127.
    const updates = names(onChange('cells', 't-1', { ...created, status: 'IN_PROGRESS' }, { ...created, status: 'RESOLVED' }, '2026-12-03T10:15:00.000Z'));
    expect(updates).toEqual({
      STATE: { IN_PROGRESS_high: -1, RESOLVED_high: 1 },
      'DAY#2026-12-03': { resolved: 1, r127: 1 },
      'OPENED#2026-12-01': { h10: -1 },
    });
  });

  it('counts a reopen and the case unresolved again', () => {
    expect(names(onChange('cells', 't-1', { ...created, status: 'CLOSED' }, created, '2026-12-05T00:00:00.000Z'))).toEqual({
      STATE: { CLOSED_high: -1, OPEN_high: 1 },
      'DAY#2026-12-05': { reopened: 1 },
      'OPENED#2026-12-01': { h10: 1 },
    });
  });

  it('writes nothing for a change the analytics do not follow', () => {
    expect(onChange('cells', 't-1', created, created, '2026-12-05T00:00:00.000Z')).toEqual([]);
  });
});
