import { ApiError, codeForStatus, type ApiErrorDetail } from './errors.js';
import { sessionFromTokens, sessionStore, type Session } from './session.js';

/**
 * The app's only way to the API: same origin (the router), the session's bearer token, JSON in and
 * out, and one error type. An access token close to expiry is renewed with the refresh token first;
 * a 401 renews once and retries; a refresh the API refuses ends the session (the sign-in page shows).
 */
export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: ApiErrorDetail[] };
  message?: string;
  requestId?: string;
}

/** Renew this long before the access token expires, so a request never starts with a dying token. */
const RENEW_MARGIN_MS = 60_000;

export function withQuery(path: string, query: RequestOptions['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function toError(response: Response): Promise<ApiError> {
  let body: ErrorBody = {};
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  return new ApiError(
    response.status,
    body.error?.code ?? codeForStatus(response.status),
    body.error?.message ?? body.message ?? '',
    body.error?.details ?? [],
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    body.requestId,
  );
}

async function send(method: string, path: string, options: RequestOptions, token: string | undefined): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await fetch(withQuery(path, options.query), {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (error instanceof Error && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', '');
  }
}

let renewing: { refreshToken: string; result: Promise<Session | undefined> } | undefined;

/** The session is still the one `refreshToken` belongs to (no sign-out, no other user since). */
function stillSignedInWith(refreshToken: string): boolean {
  return sessionStore.get()?.refreshToken === refreshToken;
}

/**
 * Trades the refresh token for a new access token, once at a time; ends the session if refused. A
 * renewal that completes after the user signed out, or after another user signed in, is dropped:
 * it must neither sign the first user back in nor replace the second one's session.
 */
export function renewSession(): Promise<Session | undefined> {
  const session = sessionStore.get();
  const refreshToken = session?.refreshToken;
  if (!session || !refreshToken) return Promise.resolve(undefined);
  if (renewing?.refreshToken === refreshToken) return renewing.result;
  const result = (async () => {
    try {
      const response = await send('POST', '/auth/token', { body: { grant_type: 'refresh_token', refresh_token: refreshToken } }, undefined);
      if (!stillSignedInWith(refreshToken)) return undefined;
      if (!response.ok) {
        // Refused (revoked, expired) ends the session; a network failure or a 5xx keeps it for a retry.
        if (response.status === 400 || response.status === 401) sessionStore.set(undefined);
        return undefined;
      }
      const tokens = (await response.json()) as { access_token: string; expires_in: number };
      if (!stillSignedInWith(refreshToken)) return undefined;
      const renewed = { ...sessionFromTokens(tokens), refreshToken };
      sessionStore.set(renewed);
      return renewed;
    } catch {
      return undefined;
    } finally {
      if (renewing?.refreshToken === refreshToken) renewing = undefined;
    }
  })();
  renewing = { refreshToken, result };
  return result;
}

/** Calls the API as the signed-in user; resolves with the parsed JSON (undefined for 204). */
export async function api<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  let session = sessionStore.get();
  if (session?.refreshToken && session.expiresAt - Date.now() < RENEW_MARGIN_MS) session = (await renewSession()) ?? sessionStore.get();
  const sentToken = session?.accessToken;
  let response = await send(method, path, options, sentToken);
  let answeredToken = sentToken;
  if (response.status === 401 && session?.refreshToken) {
    const renewed = await renewSession();
    if (renewed) {
      answeredToken = renewed.accessToken;
      response = await send(method, path, options, answeredToken);
    }
  }
  // A 401 ends the session only if it refused the token the session still holds: an answer to a
  // previous user's request (they signed out meanwhile) must not sign the next user out.
  if (response.status === 401 && answeredToken !== undefined && sessionStore.get()?.accessToken === answeredToken) sessionStore.set(undefined);
  if (!response.ok) throw await toError(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export type SignInResult = { kind: 'signed-in'; session: Session } | { kind: 'new-password-required' };

/** `POST /auth/token` with a password (and the new one, on a first sign-in). */
export async function signIn(username: string, password: string, newPassword?: string): Promise<SignInResult> {
  const response = await send('POST', '/auth/token', { body: { username, password, ...(newPassword ? { newPassword } : {}) } }, undefined);
  if (!response.ok) {
    const error = await toError(response);
    if (error.code === 'NEW_PASSWORD_REQUIRED') return { kind: 'new-password-required' };
    throw error;
  }
  const session = sessionFromTokens((await response.json()) as { access_token: string; refresh_token?: string; expires_in: number });
  sessionStore.set(session);
  return { kind: 'signed-in', session };
}

export function signOut(): void {
  renewing = undefined;
  sessionStore.set(undefined);
}
