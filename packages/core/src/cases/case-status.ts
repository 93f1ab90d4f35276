/**
 * The case status machine (DESIGN §5): OPEN → IN_PROGRESS → RESOLVED → CLOSED; RESOLVED and CLOSED
 * may be reopened to OPEN; IN_PROGRESS may go back to OPEN (work handed back to the queue).
 */
export const CASE_STATUSES = ['OPEN', 'IN_PROGRESS', 'RESOLVED', 'CLOSED'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

const TRANSITIONS: Readonly<Record<CaseStatus, readonly CaseStatus[]>> = {
  OPEN: ['IN_PROGRESS'],
  IN_PROGRESS: ['RESOLVED', 'OPEN'],
  RESOLVED: ['CLOSED', 'OPEN'],
  CLOSED: ['OPEN'],
};

export function canTransition(from: CaseStatus, to: CaseStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function allowedTransitions(from: CaseStatus): readonly CaseStatus[] {
  return TRANSITIONS[from];
}

/** A case counts against the tier's `max active cases` until it is CLOSED. */
export function isActive(status: CaseStatus): boolean {
  return status !== 'CLOSED';
}
