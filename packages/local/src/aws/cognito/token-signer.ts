/**
 * The pool's signing key and the tokens it signs: RS256, with the key's thumbprint as `kid`, published
 * as the pool's JWKS. Access tokens carry what the pre-token-generation (V2) trigger adds in AWS.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { TENANT_ATTRIBUTE } from '@cellbook/core/tenancy/tenant-attribute';
import type { JsonObject } from '../json-protocol.js';
import type { Clock } from '../types.js';
import { idTokenAttributes, type UserRecord } from './user-records.js';

export interface TokenSignerOptions {
  /** The `iss` of every token. */
  issuer: string;
  /** The pool's app client: the access token's `client_id`, the ID token's `aud`. */
  clientId: string;
  accessTokenTtlSeconds: number;
  now: Clock;
  /**
   * The pool's private signing key (a JWK, as `signingKey` exports it), kept from an earlier run so
   * that tokens it signed still verify; a new key pair when absent.
   */
  signingKey?: JWK;
}

export async function createTokenSigner({ issuer, clientId, accessTokenTtlSeconds, now, signingKey: kept }: TokenSignerOptions) {
  const privateKey = kept ? await importJWK(kept, 'RS256') : (await generateKeyPair('RS256', { extractable: true })).privateKey;
  const signingKey: JWK = kept ?? (await exportJWK(privateKey));
  // The public half of an RSA key is its modulus and exponent.
  const publicJwk: JWK = { kty: signingKey.kty, n: signingKey.n, e: signingKey.e };
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, alg: 'RS256', kid, use: 'sig' }] };

  async function signToken(claims: JsonObject, issuedAt: number): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(issuer)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + accessTokenTtlSeconds)
      .setJti(randomUUID())
      .sign(privateKey);
  }

  async function issueTokens(user: UserRecord, grant: { originJti: string; authTime: number }) {
    const issuedAt = Math.floor(now() / 1000);
    const eventId = randomUUID();
    const groupNames = [...user.groups];
    const tenantId = user.attributes.get(TENANT_ATTRIBUTE);
    const accessToken = await signToken(
      {
        sub: user.sub,
        ...(groupNames.length > 0 ? { 'cognito:groups': groupNames } : {}),
        version: 2,
        client_id: clientId,
        origin_jti: grant.originJti,
        event_id: eventId,
        token_use: 'access',
        scope: 'aws.cognito.signin.user.admin',
        auth_time: grant.authTime,
        username: user.username,
        // Added by the pool's pre-token-generation (V2) trigger, which is what puts tenant context in
        // the access token; without the trigger Cognito would only put custom attributes in the ID token.
        ...(tenantId !== undefined ? { tenant_id: tenantId } : {}),
        roles: groupNames,
      },
      issuedAt,
    );
    const idToken = await signToken(
      {
        sub: user.sub,
        ...(groupNames.length > 0 ? { 'cognito:groups': groupNames } : {}),
        ...idTokenAttributes(user),
        'cognito:username': user.username,
        origin_jti: grant.originJti,
        aud: clientId,
        event_id: eventId,
        token_use: 'id',
        auth_time: grant.authTime,
      },
      issuedAt,
    );
    return { AccessToken: accessToken, IdToken: idToken, ExpiresIn: accessTokenTtlSeconds, TokenType: 'Bearer' };
  }

  async function mintToken(claims: Record<string, unknown>, options: { issuer?: string; issuedAt?: number; expiresAt?: number } = {}): Promise<string> {
    const issuedAt = options.issuedAt ?? Math.floor(now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(options.issuer ?? issuer)
      .setIssuedAt(issuedAt)
      .setExpirationTime(options.expiresAt ?? issuedAt + accessTokenTtlSeconds)
      .setJti(randomUUID())
      .sign(privateKey);
  }

  return { jwks, issueTokens, mintToken, signingKey };
}
