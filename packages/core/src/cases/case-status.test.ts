import { describe, expect, it } from 'vitest';
import { allowedTransitions, CASE_STATUSES, canTransition, isActive, type CaseStatus } from './case-status.js';

// The whole table, written out from DESIGN §5: OPEN → IN_PROGRESS → RESOLVED → CLOSED, reopen to OPEN,
// and IN_PROGRESS may hand work back to OPEN. Every pair not listed here must be refused.
const ALLOWED: ReadonlyArray<readonly [CaseStatus, CaseStatus]> = [
  ['OPEN', 'IN_PROGRESS'],
  ['IN_PROGRESS', 'RESOLVED'],
  ['IN_PROGRESS', 'OPEN'],
  ['RESOLVED', 'CLOSED'],
  ['RESOLVED', 'OPEN'],
  ['CLOSED', 'OPEN'],
];

const isAllowedPair = (from: CaseStatus, to: CaseStatus) => ALLOWED.some(([f, t]) => f === from && t === to);

const ALL_PAIRS = CASE_STATUSES.flatMap((from) => CASE_STATUSES.map((to) => [from, to, isAllowedPair(from, to)] as const));

describe('canTransition', () => {
  it('knows exactly the four statuses of the design', () => {
    expect([...CASE_STATUSES]).toEqual(['OPEN', 'IN_PROGRESS', 'RESOLVED', 'CLOSED']);
  });

  it.each(ALL_PAIRS)('%s → %s is allowed: %s', (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
  });

  it('never allows a case to "move" to the status it already has', () => {
    for (const status of CASE_STATUSES) expect(canTransition(status, status)).toBe(false);
  });

  it('does not let an OPEN case skip straight to RESOLVED or CLOSED', () => {
    expect(canTransition('OPEN', 'RESOLVED')).toBe(false);
    expect(canTransition('OPEN', 'CLOSED')).toBe(false);
  });

  it('lets a CLOSED case be reopened to OPEN but not resolved again or put back in progress', () => {
    expect(canTransition('CLOSED', 'OPEN')).toBe(true);
    expect(canTransition('CLOSED', 'RESOLVED')).toBe(false);
    expect(canTransition('CLOSED', 'IN_PROGRESS')).toBe(false);
  });

  it('lets a RESOLVED case be closed or reopened, but not put back in progress', () => {
    expect(canTransition('RESOLVED', 'CLOSED')).toBe(true);
    expect(canTransition('RESOLVED', 'OPEN')).toBe(true);
    expect(canTransition('RESOLVED', 'IN_PROGRESS')).toBe(false);
  });
});

describe('allowedTransitions', () => {
  it.each(CASE_STATUSES)('lists for %s exactly the targets canTransition accepts', (from) => {
    const expected = CASE_STATUSES.filter((to) => isAllowedPair(from, to));
    expect([...allowedTransitions(from)].sort()).toEqual([...expected].sort());
  });
});

describe('isActive', () => {
  it('counts OPEN, IN_PROGRESS and RESOLVED cases against the active-case limit', () => {
    expect(isActive('OPEN')).toBe(true);
    expect(isActive('IN_PROGRESS')).toBe(true);
    expect(isActive('RESOLVED')).toBe(true);
  });

  it('stops counting a case once it is CLOSED', () => {
    expect(isActive('CLOSED')).toBe(false);
  });
});
