/**
 * Every failure the app can meet, in words a user can act on (issue 11: "errors from the API shown in
 * words"). The API's own messages are already written for people (DESIGN §5: no stack trace, SDK
 * message or ARN ever reaches a client); for the codes where the next step is not obvious from the
 * message, the app says what to do.
 */
export interface ApiErrorDetail {
  path?: string;
  message: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    /** The application's code (`CASE_NOT_FOUND`), or the gateway's answer turned into one (`UNAUTHORIZED`). */
    readonly code: string,
    message: string,
    readonly details: readonly ApiErrorDetail[] = [],
    /** Seconds the API asked us to wait (`Retry-After`), when it said. */
    readonly retryAfterSeconds?: number,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/** What to tell the user, beyond the API's message, for codes whose remedy is not in the message. */
const NEXT_STEP: Readonly<Record<string, string>> = {
  UNAUTHORIZED: 'Your session has ended. Sign in again.',
  FORBIDDEN: 'Your account is not allowed to do this. Ask an administrator of your organisation.',
  TOO_MANY_REQUESTS: 'Too many requests for your plan right now. Wait a moment and try again.',
  TOO_MANY_FAILED_ATTEMPTS: 'Too many failed sign-ins. Wait a little before trying again.',
  ENTITLEMENT_LIMIT_REACHED: 'Your plan’s limit is reached. An administrator can free room or change the plan.',
  FEATURE_NOT_AVAILABLE: 'This is not part of your plan.',
  TENANT_MOVING: 'Your organisation’s data is being moved. This takes a moment; try again shortly.',
  TENANT_MOVED: 'Your organisation’s data was just moved. Try again in a moment.',
  NETWORK: 'Cellbook could not be reached. Check your connection and try again.',
};

/** The sentence a screen shows for `error`. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const next = NEXT_STEP[error.code];
    const base = error.message && error.message !== error.code ? error.message : '';
    const retry = error.retryAfterSeconds ? ` (about ${error.retryAfterSeconds} s)` : '';
    if (!base) return `${next ?? `The request failed (${error.status}).`}${retry}`;
    return next && !base.includes(next) ? `${ensureStop(base)} ${next}${retry}` : `${ensureStop(base)}${retry}`;
  }
  if (error instanceof Error && error.name === 'AbortError') return 'The request was cancelled.';
  return 'Something went wrong in the app. Reload the page and try again.';
}

function ensureStop(sentence: string): string {
  return /[.!?…]$/.test(sentence) ? sentence : `${sentence}.`;
}

/** A gateway answer (`{"message": "Unauthorized"}`) has no code: name one from the status. */
export function codeForStatus(status: number): string {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 429) return 'TOO_MANY_REQUESTS';
  if (status >= 500) return 'SERVICE_UNAVAILABLE';
  return 'REQUEST_FAILED';
}
