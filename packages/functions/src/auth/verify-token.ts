import { requireEnv } from '@cellbook/core/shared/config';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

/**
 * Verifies a Cognito access token: RS256 signature against the user pool's JWKS, issuer, expiry,
 * `token_use: access` and the app client (Cognito access tokens carry the audience as `client_id`).
 * Returns undefined for anything that does not verify — the caller answers 401 without detail.
 */
export interface VerifiedToken extends JWTPayload {
  sub: string;
  username: string;
  roles: string[];
  tenant_id?: string;
}

const jwksByIssuer = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/**
 * Whose tokens a plane accepts (DESIGN §13): the cells only the tenant directory's, the control
 * plane only the operator directory's. Each names its pool's issuer and app client.
 */
export type Directory = 'tenant' | 'operator';
const DIRECTORY_ENV: Record<Directory, { issuer: string; clientId: string }> = {
  tenant: { issuer: 'JWT_ISSUER', clientId: 'USER_POOL_CLIENT_ID' },
  operator: { issuer: 'OPERATOR_JWT_ISSUER', clientId: 'OPERATOR_POOL_CLIENT_ID' },
};

export async function verifyAccessToken(authorization: string | undefined, directory: Directory): Promise<VerifiedToken | undefined> {
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  const token = match?.[1];
  if (!token) return undefined;
  const issuer = requireEnv(DIRECTORY_ENV[directory].issuer);
  let jwks = jwksByIssuer.get(issuer);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
    jwksByIssuer.set(issuer, jwks);
  }
  try {
    const { payload } = await jwtVerify(token, jwks, { issuer, algorithms: ['RS256'], clockTolerance: 5 });
    if (payload.token_use !== 'access' || payload.client_id !== requireEnv(DIRECTORY_ENV[directory].clientId)) return undefined;
    if (typeof payload.sub !== 'string' || typeof payload.username !== 'string') return undefined;
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === 'string') : [];
    const tenantId = typeof payload.tenant_id === 'string' ? payload.tenant_id : undefined;
    return { ...payload, sub: payload.sub, username: payload.username, roles, ...(tenantId ? { tenant_id: tenantId } : {}) };
  } catch {
    return undefined;
  }
}
