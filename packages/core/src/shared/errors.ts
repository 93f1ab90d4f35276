/**
 * Typed domain errors. Each carries a stable `code` that clients can rely on, and beside it the API
 * status that code is answered with: a new error cannot exist without one, so it can never turn
 * into a 500 by being forgotten in a table elsewhere. The status is a number the API contract
 * (DESIGN §5) gives the code, not HTTP transport: no error builds a response or sets a header —
 * the functions' error middleware does. `message` is written for the client: never put internal
 * detail (table names, ARNs, SDK messages) in it; what went wrong underneath goes in `cause`, for
 * whoever debugs it — no response ever shows it.
 */
export interface ErrorDetail {
  path: string;
  message: string;
}

/**
 * The statuses the API answers domain errors with: the client's mistakes and refusals (4xx), and
 * 503 for a condition that passes by itself (a cell being created, a move under way).
 */
export const ERROR_STATUSES = [400, 401, 403, 404, 409, 413, 415, 422, 429, 503] as const;
export type ErrorStatus = (typeof ERROR_STATUSES)[number];

export interface DomainErrorOptions extends ErrorOptions {
  details?: readonly ErrorDetail[];
}

export abstract class DomainError extends Error {
  abstract readonly code: string;
  /** The status `code` is answered with; two errors that share a code share its status. */
  abstract readonly status: ErrorStatus;
  readonly details?: readonly ErrorDetail[];

  constructor(message: string, options?: DomainErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.details) this.details = options.details;
  }
}

/** The request could not be read at all (not JSON, not a valid cursor, oversized). */
export class MalformedRequest extends DomainError {
  readonly code = 'MALFORMED_REQUEST';
  readonly status = 400;
}

export class PayloadTooLarge extends DomainError {
  readonly code = 'PAYLOAD_TOO_LARGE';
  readonly status = 413;
}

/** A request body that does not say it is JSON (`Content-Type`), sent to a route that reads JSON. */
export class UnsupportedMediaType extends DomainError {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
  readonly status = 415;
}

export class InvalidCursor extends DomainError {
  readonly code = 'INVALID_CURSOR';
  readonly status = 400;
  constructor(options?: ErrorOptions) {
    super('The cursor is not valid for this listing; start again without a cursor.', options);
  }
}

/** The request was readable but breaks the schema (wrong types, unknown fields, out of range). */
export class ValidationFailed extends DomainError {
  readonly code = 'VALIDATION_FAILED';
  readonly status = 422;
}

export class CaseNotFound extends DomainError {
  readonly code = 'CASE_NOT_FOUND';
  readonly status = 404;
  constructor(options?: ErrorOptions) {
    super('No case with this id exists.', options);
  }
}

/** No evidence with this id on this case (another tenant's evidence is not found either). */
export class EvidenceNotFound extends DomainError {
  readonly code = 'EVIDENCE_NOT_FOUND';
  readonly status = 404;
  constructor(options?: ErrorOptions) {
    super('No evidence with this id exists on this case.', options);
  }
}

/**
 * The declared file type is not on the evidence allow-list. 422, not 415: the request itself is
 * JSON as it should be (415 in this API means the request body's own type); a value in it breaks
 * a rule.
 */
export class EvidenceTypeNotAllowed extends DomainError {
  readonly code = 'EVIDENCE_TYPE_NOT_ALLOWED';
  readonly status = 422;
}

/**
 * The declared file is larger than the plan's per-file limit. 422, not 413: the request is small
 * (413 in this API means the request body itself is too large, and nothing large was sent yet).
 */
export class EvidenceTooLarge extends DomainError {
  readonly code = 'EVIDENCE_TOO_LARGE';
  readonly status = 422;
}

/** `complete` before the file was uploaded (or after the upload was refused): upload it, then complete again. */
export class EvidenceNotUploaded extends DomainError {
  readonly code = 'EVIDENCE_NOT_UPLOADED';
  readonly status = 409;
  constructor(options?: ErrorOptions) {
    super('The file has not been uploaded yet: PUT it to the upload URL, then complete again.', options);
  }
}

/** The stored file is not the one declared (size, type or SHA-256): it was deleted and nothing was counted. */
export class EvidenceMismatch extends DomainError {
  readonly code = 'EVIDENCE_MISMATCH';
  readonly status = 422;
}

export class AssigneeNotFound extends DomainError {
  readonly code = 'ASSIGNEE_NOT_FOUND';
  readonly status = 422;
  constructor(options?: ErrorOptions) {
    super('The assignee is not a user of this tenant.', options);
  }
}

export class InvalidStatusTransition extends DomainError {
  readonly code = 'INVALID_STATUS_TRANSITION';
  readonly status = 409;
}

/** Someone else changed the item between our read and our conditional write. */
export class ConcurrentModification extends DomainError {
  readonly code = 'CONCURRENT_MODIFICATION';
  readonly status = 409;
  constructor(message = 'The case was changed by another request; read it again and retry.', options?: ErrorOptions) {
    super(message, options);
  }
}

export class FeatureNotEntitled extends DomainError {
  readonly code = 'FEATURE_NOT_ENTITLED';
  readonly status = 403;
}

/**
 * An entitlement capacity (max active cases, max users) is exhausted. 403, not 429: waiting changes
 * nothing — closing cases, removing users or a bigger plan does — and clients retry a 429 (it is the
 * gateway's throttle), so a limit answered 429 would be retried forever.
 */
export class EntitlementLimitReached extends DomainError {
  readonly code = 'ENTITLEMENT_LIMIT_REACHED';
  readonly status = 403;
}

export class RoleRequired extends DomainError {
  readonly code = 'FORBIDDEN';
  readonly status = 403;
}

export class UserAlreadyExists extends DomainError {
  readonly code = 'USER_ALREADY_EXISTS';
  readonly status = 409;
  constructor(options?: ErrorOptions) {
    super('A user with this email already exists.', options);
  }
}

export class InvalidCredentials extends DomainError {
  readonly code = 'INVALID_CREDENTIALS';
  readonly status = 401;
  constructor(options?: ErrorOptions) {
    super('Incorrect username or password.', options);
  }
}

/**
 * The directory locked the user out for a while after repeated wrong passwords (Cognito answers
 * "Password attempts exceeded"); even the right password is refused until the lockout passes.
 */
export class TooManyFailedAttempts extends DomainError {
  readonly code = 'TOO_MANY_FAILED_ATTEMPTS';
  readonly status = 429;
  constructor(options?: ErrorOptions) {
    super('Too many failed sign-in attempts: wait a moment, then try again.', options);
  }
}

/** Right temporary password: the user must choose a new one to finish signing in. */
export class NewPasswordRequired extends DomainError {
  readonly code = 'NEW_PASSWORD_REQUIRED';
  readonly status = 403;
  constructor(options?: ErrorOptions) {
    super('This is a temporary password: sign in again with "newPassword" to choose your own.', options);
  }
}

export class TenantNotFound extends DomainError {
  readonly code = 'TENANT_NOT_FOUND';
  readonly status = 404;
  constructor(options?: ErrorOptions) {
    super('No tenant with this id exists.', options);
  }
}

/** Suspend/reactivate on a tenant that is still being onboarded. */
export class TenantNotActivated extends DomainError {
  readonly code = 'TENANT_NOT_ACTIVATED';
  readonly status = 409;
  constructor(options?: ErrorOptions) {
    super('The tenant has not finished onboarding.', options);
  }
}

/** A tier change that would change the tenant's isolation model needs a move between cells. */
export class TierChangeNeedsMove extends DomainError {
  readonly code = 'TIER_CHANGE_NEEDS_MOVE';
  readonly status = 409;
}

export class TenantNameTaken extends DomainError {
  readonly code = 'TENANT_NAME_TAKEN';
  readonly status = 409;
  constructor(options?: ErrorOptions) {
    super('A tenant with this name already exists.', options);
  }
}

export class IdempotencyKeyReused extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  readonly status = 409;
  constructor(message = 'This Idempotency-Key was already used with a different request body.', options?: ErrorOptions) {
    super(message, options);
  }
}

export class RequestInProgress extends DomainError {
  readonly code = 'REQUEST_IN_PROGRESS';
  readonly status = 409;
  constructor(options?: ErrorOptions) {
    super('A request with this Idempotency-Key is still being processed; retry shortly.', options);
  }
}

export class CellNotFound extends DomainError {
  readonly code = 'CELL_NOT_FOUND';
  readonly status = 404;
  constructor(options?: ErrorOptions) {
    super('No deployed cell has this id; deploy its Cell stack first.', options);
  }
}

/** A catalogued cell promised to a tenant whose stack is not deployed yet: nothing to change. */
export class CellNotDeployed extends DomainError {
  readonly code = 'CELL_NOT_DEPLOYED';
  readonly status = 409;
  constructor(options?: ErrorOptions) {
    super('This cell is being created for a tenant and is not deployed yet; change it once its stack is deployed.', options);
  }
}

export class NoCellCapacity extends DomainError {
  readonly code = 'NO_CELL_CAPACITY';
  readonly status = 503;
}

export class TenantNotSuspended extends DomainError {
  readonly code = 'TENANT_NOT_SUSPENDED';
  readonly status = 409;
  constructor(options?: ErrorOptions) {
    super('Only a suspended tenant (or an abandoned onboarding) can be offboarded: suspend it, take its export, then offboard it.', options);
  }
}

/** The PENDING tenant's onboarding attempt still holds its lease: it may yet finish. */
export class OnboardingInProgress extends DomainError {
  readonly code = 'ONBOARDING_IN_PROGRESS';
  readonly status = 409;
  constructor(options?: ErrorOptions) {
    super("This tenant's onboarding is still running; cancel it once that attempt has ended (within a minute), or let it finish.", options);
  }
}

/** A move the tenant or the target cell does not allow (same cell, wrong placement kind). */
export class InvalidMove extends DomainError {
  readonly code = 'INVALID_MOVE';
  readonly status = 422;
}

export class MoveInProgress extends DomainError {
  readonly code = 'MOVE_IN_PROGRESS';
  readonly status = 409;
  constructor(options?: ErrorOptions) {
    super('This tenant is already being moved to another cell; wait for that move to finish.', options);
  }
}

/**
 * A condition that passes by itself soon: the client should retry after `retryAfterSeconds`
 * (the HTTP layer sends it as `Retry-After`).
 */
export abstract class TransientDomainError extends DomainError {
  abstract readonly retryAfterSeconds: number;
}

/** The router does not send the tenant to its new cell yet (routing map still propagating). */
export class RoutingNotReady extends TransientDomainError {
  readonly code = 'ROUTING_NOT_READY';
  readonly status = 503;
  readonly retryAfterSeconds = 5;
}

/** A dedicated cell is being created for the tenant; the request can be retried once it is up. */
export class CellProvisioning extends TransientDomainError {
  readonly code = 'CELL_PROVISIONING';
  readonly status = 503;
  readonly retryAfterSeconds = 10;
}

/** The tenant is being moved between cells; its data is read-only for a few seconds. */
export class TenantMoving extends TransientDomainError {
  readonly code = 'TENANT_MOVING';
  readonly status = 503;
  readonly retryAfterSeconds = 2;
  constructor(options?: ErrorOptions) {
    super('Your workspace is being moved and is read-only for a few seconds; retry shortly.', options);
  }
}

/** The request reached the tenant's old cell after a move; a retry reaches the new one. */
export class TenantMoved extends TransientDomainError {
  readonly code = 'TENANT_MOVED';
  readonly status = 503;
  readonly retryAfterSeconds = 1;
  constructor(options?: ErrorOptions) {
    super('Your workspace has just moved; retry the request.', options);
  }
}

/**
 * The tenant's audit trail could not record the request, so the request was not carried out: a
 * tenant with the audit log never has a read or a change without its record (tenant-audit/trail.ts).
 */
export class AuditUnavailable extends TransientDomainError {
  readonly code = 'AUDIT_UNAVAILABLE';
  readonly status = 503;
  readonly retryAfterSeconds = 1;
  constructor(options?: ErrorOptions) {
    super('The request could not be recorded in your audit log, so it was not carried out; retry shortly.', options);
  }
}

/** Code ran without a tenant where one is required: a bug, reported as a 500. */
export class MissingTenantContext extends Error {
  constructor() {
    super('no tenant context: wrap the call in withTenant()');
    this.name = 'MissingTenantContext';
  }
}

/**
 * The identity broker refuses a caller: not a cell's tenant session, or a tenant that is not
 * active and placed in the calling cell. One answer for every reason, so nothing leaks.
 */
export class BrokerCallerRefused extends DomainError {
  readonly code = 'FORBIDDEN';
  readonly status = 403;
  constructor(options?: ErrorOptions) {
    super('This caller may not manage the users of this tenant.', options);
  }
}

/** No user of the caller's tenant has this name (a user of another tenant is not found either). */
export class TenantUserNotFound extends DomainError {
  readonly code = 'USER_NOT_FOUND';
  readonly status = 404;
  constructor(options?: ErrorOptions) {
    super('No user of this tenant has this name.', options);
  }
}

/**
 * A tenant must keep at least one admin: removing or demoting its last one would leave nobody able
 * to manage its users (only an operator could help).
 */
export class LastAdmin extends DomainError {
  readonly code = 'LAST_ADMIN';
  readonly status = 409;
  constructor(options?: ErrorOptions) {
    super("This is the tenant's last admin: make another user an admin first.", options);
  }
}

/** An admin cannot remove or demote themself: another admin does it, so nobody locks themself out mid-session. */
export class OwnAccount extends DomainError {
  readonly code = 'OWN_ACCOUNT';
  readonly status = 409;
  constructor(options?: ErrorOptions) {
    super('You cannot remove or demote yourself: ask another admin.', options);
  }
}

/** A refresh token that is unknown, expired or revoked (signed out, removed): sign in again. */
export class InvalidGrant extends DomainError {
  readonly code = 'INVALID_GRANT';
  readonly status = 400;
  constructor(options?: ErrorOptions) {
    super('The refresh token is invalid, expired or revoked: sign in again.', options);
  }
}

// Releases (DESIGN §9).

export class ReleaseNotFound extends DomainError {
  readonly code = 'RELEASE_NOT_FOUND';
  readonly status = 404;
  constructor(options?: ErrorOptions) {
    super('No release has this id.', options);
  }
}

/** One release at a time: another one is rolling out (or back). */
export class ReleaseInProgress extends DomainError {
  readonly code = 'RELEASE_IN_PROGRESS';
  readonly status = 409;
}

/** A release is rolled out once; build another (a new commit or setting gives a new id). */
export class ReleaseAlreadyStarted extends DomainError {
  readonly code = 'RELEASE_ALREADY_STARTED';
  readonly status = 409;
  constructor(options?: ErrorOptions) {
    super('This release has already been rolled out; build a new release to roll out again.', options);
  }
}

/** Abort or roll back a release in a state that does not allow it (finished, halted, already rolling back). */
export class ReleaseNotActive extends DomainError {
  readonly code = 'RELEASE_NOT_ACTIVE';
  readonly status = 409;
}

/** A plan the catalog does not allow (unknown or undeployed cell, a cell twice, a canary that is not one pooled cell…). */
export class InvalidReleasePlan extends DomainError {
  readonly code = 'INVALID_RELEASE_PLAN';
  readonly status = 422;
}

/** Every cell of the plan already runs this release: there is nothing to roll out. */
export class ReleaseAlreadyRunning extends DomainError {
  readonly code = 'RELEASE_ALREADY_RUNNING';
  readonly status = 409;
}

/** A tenant has one export at a time: the one under way is named in the details. */
export class ExportInProgress extends DomainError {
  readonly code = 'EXPORT_IN_PROGRESS';
  readonly status = 409;
  constructor(options?: ErrorOptions & { exportId?: string }) {
    super('An export of this workspace is already being prepared; wait for it to finish.', {
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
      ...(options?.exportId === undefined ? {} : { details: [{ path: 'exportId', message: options.exportId }] }),
    });
  }
}

export class ExportNotFound extends DomainError {
  readonly code = 'EXPORT_NOT_FOUND';
  readonly status = 404;
  constructor(options?: ErrorOptions) {
    super('No export with this id exists.', options);
  }
}
