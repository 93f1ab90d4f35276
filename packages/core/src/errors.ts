/**
 * Typed domain errors. Each carries a stable `code` that clients can rely on; none knows HTTP —
 * the functions' error middleware maps codes to statuses. `message` is written for the client:
 * never put internal detail (table names, ARNs, SDK messages) in it.
 */
export interface ErrorDetail {
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly code: string;
  readonly details?: readonly ErrorDetail[];

  constructor(message: string, details?: readonly ErrorDetail[]) {
    super(message);
    this.name = new.target.name;
    if (details) this.details = details;
  }
}

/** The request could not be read at all (not JSON, not a valid cursor, oversized). */
export class MalformedRequest extends DomainError {
  readonly code = 'MALFORMED_REQUEST';
}

export class PayloadTooLarge extends DomainError {
  readonly code = 'PAYLOAD_TOO_LARGE';
}

/** A request body that does not say it is JSON (`Content-Type`), sent to a route that reads JSON. */
export class UnsupportedMediaType extends DomainError {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
}

export class InvalidCursor extends DomainError {
  readonly code = 'INVALID_CURSOR';
  constructor() {
    super('The cursor is not valid for this listing; start again without a cursor.');
  }
}

/** The request was readable but breaks the schema (wrong types, unknown fields, out of range). */
export class ValidationFailed extends DomainError {
  readonly code = 'VALIDATION_FAILED';
}

export class CaseNotFound extends DomainError {
  readonly code = 'CASE_NOT_FOUND';
  constructor() {
    super('No case with this id exists.');
  }
}

export class AssigneeNotFound extends DomainError {
  readonly code = 'ASSIGNEE_NOT_FOUND';
  constructor() {
    super('The assignee is not a user of this tenant.');
  }
}

export class InvalidStatusTransition extends DomainError {
  readonly code = 'INVALID_STATUS_TRANSITION';
}

/** Someone else changed the item between our read and our conditional write. */
export class ConcurrentModification extends DomainError {
  readonly code = 'CONCURRENT_MODIFICATION';
  constructor(message = 'The case was changed by another request; read it again and retry.') {
    super(message);
  }
}

export class FeatureNotEntitled extends DomainError {
  readonly code = 'FEATURE_NOT_ENTITLED';
}

/** An entitlement capacity (max active cases, max users) is exhausted. */
export class EntitlementLimitReached extends DomainError {
  readonly code = 'ENTITLEMENT_LIMIT_REACHED';
}

export class RoleRequired extends DomainError {
  readonly code = 'FORBIDDEN';
}

export class UserAlreadyExists extends DomainError {
  readonly code = 'USER_ALREADY_EXISTS';
  constructor() {
    super('A user with this email already exists.');
  }
}

export class InvalidCredentials extends DomainError {
  readonly code = 'INVALID_CREDENTIALS';
  constructor() {
    super('Incorrect username or password.');
  }
}

/**
 * The directory locked the user out for a while after repeated wrong passwords (Cognito answers
 * "Password attempts exceeded"); even the right password is refused until the lockout passes.
 */
export class TooManyFailedAttempts extends DomainError {
  readonly code = 'TOO_MANY_FAILED_ATTEMPTS';
  constructor() {
    super('Too many failed sign-in attempts: wait a moment, then try again.');
  }
}

/** Right temporary password: the user must choose a new one to finish signing in. */
export class NewPasswordRequired extends DomainError {
  readonly code = 'NEW_PASSWORD_REQUIRED';
  constructor() {
    super('This is a temporary password: sign in again with "newPassword" to choose your own.');
  }
}

export class TenantNotFound extends DomainError {
  readonly code = 'TENANT_NOT_FOUND';
  constructor() {
    super('No tenant with this id exists.');
  }
}

/** Suspend/reactivate on a tenant that is still being onboarded. */
export class TenantNotActivated extends DomainError {
  readonly code = 'TENANT_NOT_ACTIVATED';
  constructor() {
    super('The tenant has not finished onboarding.');
  }
}

/** A tier change that would change the tenant's isolation model needs a move between cells. */
export class TierChangeNeedsMove extends DomainError {
  readonly code = 'TIER_CHANGE_NEEDS_MOVE';
}

export class TenantNameTaken extends DomainError {
  readonly code = 'TENANT_NAME_TAKEN';
  constructor() {
    super('A tenant with this name already exists.');
  }
}

export class IdempotencyKeyReused extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor(message = 'This Idempotency-Key was already used with a different request body.') {
    super(message);
  }
}

export class RequestInProgress extends DomainError {
  readonly code = 'REQUEST_IN_PROGRESS';
  constructor() {
    super('A request with this Idempotency-Key is still being processed; retry shortly.');
  }
}

export class CellNotFound extends DomainError {
  readonly code = 'CELL_NOT_FOUND';
  constructor() {
    super('No deployed cell has this id; deploy its Cell stack first.');
  }
}

/** A catalogued cell promised to a tenant whose stack is not deployed yet: nothing to change. */
export class CellNotDeployed extends DomainError {
  readonly code = 'CELL_NOT_DEPLOYED';
  constructor() {
    super('This cell is being created for a tenant and is not deployed yet; change it once its stack is deployed.');
  }
}

export class NoCellCapacity extends DomainError {
  readonly code = 'NO_CELL_CAPACITY';
}

export class TenantNotSuspended extends DomainError {
  readonly code = 'TENANT_NOT_SUSPENDED';
  constructor() {
    super('Only a suspended tenant (or an abandoned onboarding) can be offboarded: suspend it, take its export, then offboard it.');
  }
}

/** The PENDING tenant's onboarding attempt still holds its lease: it may yet finish. */
export class OnboardingInProgress extends DomainError {
  readonly code = 'ONBOARDING_IN_PROGRESS';
  constructor() {
    super("This tenant's onboarding is still running; cancel it once that attempt has ended (within a minute), or let it finish.");
  }
}

/** A move the tenant or the target cell does not allow (same cell, wrong placement kind). */
export class InvalidMove extends DomainError {
  readonly code = 'INVALID_MOVE';
}

export class MoveInProgress extends DomainError {
  readonly code = 'MOVE_IN_PROGRESS';
  constructor() {
    super('This tenant is already being moved to another cell; wait for that move to finish.');
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
  readonly retryAfterSeconds = 5;
}

/** A dedicated cell is being created for the tenant; the request can be retried once it is up. */
export class CellProvisioning extends TransientDomainError {
  readonly code = 'CELL_PROVISIONING';
  readonly retryAfterSeconds = 10;
}

/** The tenant is being moved between cells; its data is read-only for a few seconds. */
export class TenantMoving extends TransientDomainError {
  readonly code = 'TENANT_MOVING';
  readonly retryAfterSeconds = 2;
  constructor() {
    super('Your workspace is being moved and is read-only for a few seconds; retry shortly.');
  }
}

/** The request reached the tenant's old cell after a move; a retry reaches the new one. */
export class TenantMoved extends TransientDomainError {
  readonly code = 'TENANT_MOVED';
  readonly retryAfterSeconds = 1;
  constructor() {
    super('Your workspace has just moved; retry the request.');
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
  constructor() {
    super('This caller may not manage the users of this tenant.');
  }
}

/** No user of the caller's tenant has this name (a user of another tenant is not found either). */
export class TenantUserNotFound extends DomainError {
  readonly code = 'USER_NOT_FOUND';
  constructor() {
    super('No user of this tenant has this name.');
  }
}
