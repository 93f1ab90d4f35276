/**
 * The API's answers as the product reads them (README "HTTP API"; the handlers under
 * packages/functions/src and the views in packages/core). Written here rather than imported from
 * core: core pulls in the AWS SDK, which has no place in a browser bundle.
 */
export const CASE_STATUSES = ['OPEN', 'IN_PROGRESS', 'RESOLVED', 'CLOSED'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];
export const PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * core's status machine (cases/case-status.ts), mirrored so the detail screen offers only the moves
 * the API accepts; the API still judges every move (409 for anything else).
 */
export const NEXT_STATUSES: Readonly<Record<CaseStatus, readonly CaseStatus[]>> = {
  OPEN: ['IN_PROGRESS'],
  IN_PROGRESS: ['RESOLVED', 'OPEN'],
  RESOLVED: ['CLOSED', 'OPEN'],
  CLOSED: ['OPEN'],
};

export const STATUS_LABELS: Readonly<Record<CaseStatus, string>> = {
  OPEN: 'Open',
  IN_PROGRESS: 'In progress',
  RESOLVED: 'Resolved',
  CLOSED: 'Closed',
};

export const PRIORITY_LABELS: Readonly<Record<Priority, string>> = { low: 'Low', medium: 'Medium', high: 'High', urgent: 'Urgent' };

export interface CaseView {
  caseId: string;
  title: string;
  description: string;
  priority: Priority;
  status: CaseStatus;
  assignee: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface NoteView {
  noteId: string;
  caseId: string;
  body: string;
  author: string;
  createdAt: string;
}

export type Feature = 'cases' | 'notes' | 'evidence' | 'export' | 'analytics' | 'audit-log';

export interface Me {
  tenantId: string;
  tier: string;
  cellId: string;
  username: string;
  roles: string[];
  entitlements: {
    features: Feature[];
    limits: { maxActiveCases: number | null; maxUsers: number | null; maxEvidenceFileBytes: number; maxEvidenceBytes: number | null };
  };
}

export interface Allowance {
  used: number;
  limit: number | null;
  remaining: number | null;
}

export interface PlanUsage {
  tenantId: string;
  tier: string;
  day: string;
  requests: Allowance;
  activeCases: Allowance;
  users: Allowance;
  evidenceBytes: Allowance;
  storage: Allowance & { measuredIn: string | null };
}

export type Role = 'admin' | 'user';

export interface UserView {
  username: string;
  email: string;
  role: Role;
  createdAt: string;
}

export interface InvitedUser extends UserView {
  /** Returned by the local platform only (in AWS, Cognito e-mails it). */
  temporaryPassword?: string;
}

export interface PasswordReset {
  username: string;
  kind: 'invitation-resent' | 'password-reset';
  temporaryPassword?: string;
}

export type EvidenceStatus = 'PENDING' | 'AVAILABLE';

export interface EvidenceView {
  evidenceId: string;
  caseId: string;
  name: string;
  size: number;
  contentType: string;
  sha256: string;
  status: EvidenceStatus;
  uploadedBy: string;
  createdAt: string;
  completedAt: string | null;
}

export interface EvidenceUpload extends EvidenceView {
  upload: { method: 'PUT'; url: string; headers: Record<string, string>; expiresAt: string };
}

export interface EvidenceWithDownload extends EvidenceView {
  download?: { url: string; expiresAt: string };
}

export type ExportStatus = 'PENDING' | 'RUNNING' | 'READY' | 'FAILED' | 'EXPIRED';

export interface ExportView {
  exportId: string;
  status: ExportStatus;
  requestedBy: string;
  requestedAt: string;
  finishedAt: string | null;
  availableUntil: string | null;
  counts: { cases: number; notes: number; evidence: number; files: number; fileBytes: number } | null;
  parts: { part: number; bytes: number; sha256: string; url?: string; urlExpiresAt?: string }[];
  failure: string | null;
}

export type PriorityCounts = Record<Priority, number> & { total: number };

export interface AnalyticsReport {
  range: { from: string; to: string };
  cases: { byStatus: Record<CaseStatus, PriorityCounts>; active: number };
  daily: { date: string; created: number; resolved: number; reopened: number }[];
  timeToResolve: { resolutions: number; p50Seconds: number | null; p90Seconds: number | null };
  pastTargetAge: { targetAgeHours: number; count: number; asOf: string };
}

export interface AnalyticsSettings {
  targetAgeHours: number;
}

export const AUDIT_TARGET_TYPES = ['case', 'note', 'evidence', 'user', 'analytics', 'audit', 'export'] as const;

export interface AuditRecord {
  auditId: string;
  at: string;
  actor: string;
  action: string;
  target: { type: string; id: string | null; caseId?: string };
  requestId: string;
  outcome: 'pending' | 'succeeded' | 'failed';
  status: number | null;
  errorCode: string | null;
}
