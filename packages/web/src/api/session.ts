/**
 * The signed-in user, as the browser tab knows it. Tokens live in `sessionStorage`: they survive a
 * reload of the tab but not the tab itself, and the app's CSP (`script-src 'self'`) keeps foreign
 * scripts away from them. The claims read here choose which face to show and what to greet the user
 * with — they are never trusted for access: every API call is authorized by the token, server-side.
 */
export type Face = 'product' | 'console';

export interface Session {
  accessToken: string;
  refreshToken?: string;
  /** Epoch milliseconds at which the access token expires. */
  expiresAt: number;
  username: string;
  /** The tenant the token names (tenant users); absent for operators. */
  tenantId?: string;
  roles: readonly string[];
  face: Face;
}

const KEY = 'cellbook.session';

interface TokenClaims {
  username?: string;
  tenant_id?: string;
  roles?: string[];
  exp?: number;
}

/** Reads a JWT's payload without verifying it (the API verifies; the app only displays). */
export function readClaims(token: string): TokenClaims {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    const json = atob(
      payload
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(payload.length / 4) * 4, '='),
    );
    const bytes = Uint8Array.from(json, (char) => char.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims === 'object' && claims !== null ? (claims as TokenClaims) : {};
  } catch {
    return {};
  }
}

export function sessionFromTokens(tokens: { access_token: string; refresh_token?: string; expires_in: number }, now = Date.now()): Session {
  const claims = readClaims(tokens.access_token);
  return {
    accessToken: tokens.access_token,
    ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
    expiresAt: claims.exp ? claims.exp * 1000 : now + tokens.expires_in * 1000,
    username: claims.username ?? '',
    ...(claims.tenant_id ? { tenantId: claims.tenant_id } : {}),
    roles: Array.isArray(claims.roles) ? claims.roles : [],
    // A token without a tenant is an operator's: the operator pool issues no tenant claim (DESIGN §13).
    face: claims.tenant_id ? 'product' : 'console',
  };
}

type Listener = (session: Session | undefined) => void;
const listeners = new Set<Listener>();

function read(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : undefined;
  } catch {
    return undefined;
  }
}

let current: Session | undefined = read();

export const sessionStore = {
  get: (): Session | undefined => current,
  set(session: Session | undefined): void {
    current = session;
    if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
    else sessionStorage.removeItem(KEY);
    for (const listener of listeners) listener(session);
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
