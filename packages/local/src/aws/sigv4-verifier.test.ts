import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { verifySigV4 } from './sigv4-verifier.js';
import { isAwsError, type AwsErrorShape, type RoleSession, type SignedRequest } from './types.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);

const session: RoleSession = {
  accessKeyId: 'ASIATESTTESTTESTTEST',
  secretAccessKey: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0',
  sessionToken: 'dG9rZW4tdG9rZW4tdG9rZW4',
  expiration: NOW + 3600_000,
  roleArn: 'arn:aws:iam::000000000000:role/cell-1-api',
  roleName: 'cell-1-api',
  sessionName: 'lambda',
  assumedRoleArn: 'arn:aws:sts::000000000000:assumed-role/cell-1-api/lambda',
  tags: {},
};
const lookup = (id: string): RoleSession | undefined => (id === session.accessKeyId ? session : undefined);

interface SignOptions {
  secretAccessKey?: string;
  sessionToken?: string;
  signedAt?: number;
  service?: string;
  path?: string;
  query?: Record<string, string | string[]>;
  body?: string;
}

/** Signs with the same signer the AWS SDK v3 clients use, then flattens it to what a server sees. */
async function signedRequest(options: SignOptions = {}): Promise<SignedRequest> {
  const signer = new SignatureV4({
    service: options.service ?? 'dynamodb',
    region: 'us-east-1',
    sha256: Sha256,
    credentials: {
      accessKeyId: session.accessKeyId,
      secretAccessKey: options.secretAccessKey ?? session.secretAccessKey,
      sessionToken: options.sessionToken ?? session.sessionToken,
    },
  });
  const body = options.body ?? '{"TableName":"cells","Key":{"PK":{"S":"TENANT#t-1#CASE#a"}}}';
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4566,
      path: options.path ?? '/',
      query: options.query ?? {},
      headers: {
        host: '127.0.0.1:4566',
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.GetItem',
      },
      body,
    }),
    { signingDate: new Date(options.signedAt ?? NOW) },
  );
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(signed.query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value ?? '']) query.append(key, item);
  }
  const queryString = query.toString().replace(/\+/g, '%20');
  return {
    method: signed.method,
    url: `${signed.path}${queryString === '' ? '' : `?${queryString}`}`,
    headers: Object.fromEntries(Object.entries(signed.headers).map(([name, value]) => [name.toLowerCase(), value])),
    body: Buffer.from(body),
    service: 'dynamodb',
  };
}

function expectError(result: RoleSession | AwsErrorShape, code: string): AwsErrorShape {
  if (!isAwsError(result)) throw new Error(`expected ${code}, got a session`);
  expect(result.code).toBe(code);
  return result;
}

describe('verifySigV4', () => {
  it('accepts a request signed by the SDK signer and resolves its session', async () => {
    expect(verifySigV4(await signedRequest(), lookup, () => NOW)).toBe(session);
  });

  it('accepts a signed query string with characters that need escaping', async () => {
    const request = await signedRequest({ path: '/a%20path/./x/', query: { b: 'two words', a: ['z*', "it's"], empty: '' } });
    expect(verifySigV4(request, lookup, () => NOW)).toBe(session);
  });

  it('rejects a body changed after signing', async () => {
    const request = await signedRequest();
    const tampered = { ...request, body: Buffer.from(request.body.toString().replace('t-1', 't-2')) };
    expect(
      expectError(
        verifySigV4(tampered, lookup, () => NOW),
        'InvalidSignatureException',
      ).message,
    ).toMatch(/^The request signature we calculated does not match/);
  });

  it('rejects a signature made with the wrong secret', async () => {
    const request = await signedRequest({ secretAccessKey: 'not-the-secret' });
    expectError(
      verifySigV4(request, lookup, () => NOW),
      'InvalidSignatureException',
    );
  });

  it('rejects an unknown access key as an invalid security token', async () => {
    const error = expectError(
      verifySigV4(
        await signedRequest(),
        () => undefined,
        () => NOW,
      ),
      'UnrecognizedClientException',
    );
    expect(error).toMatchObject({ status: 400, message: 'The security token included in the request is invalid.' });
  });

  it('rejects a session token that is not the session’s own', async () => {
    const request = await signedRequest({ sessionToken: 'someone-elses-token' });
    expectError(
      verifySigV4(request, lookup, () => NOW),
      'UnrecognizedClientException',
    );
  });

  it('rejects a request without an Authorization header', async () => {
    const { authorization: _dropped, ...headers } = (await signedRequest()).headers;
    const unsigned = { ...(await signedRequest()), headers };
    const error = expectError(
      verifySigV4(unsigned, lookup, () => NOW),
      'MissingAuthenticationTokenException',
    );
    expect(error.message).toBe('Request is missing Authentication Token');
  });

  it('tolerates 14 minutes of clock skew but not 16', async () => {
    expect(verifySigV4(await signedRequest({ signedAt: NOW - 14 * 60_000 }), lookup, () => NOW)).toBe(session);
    expect(verifySigV4(await signedRequest({ signedAt: NOW + 14 * 60_000 }), lookup, () => NOW)).toBe(session);
    const late = expectError(
      verifySigV4(await signedRequest({ signedAt: NOW - 16 * 60_000 }), lookup, () => NOW),
      'InvalidSignatureException',
    );
    expect(late.message).toBe('Signature expired: 20250601T114400Z is now earlier than 20250601T114500Z (20250601T120000Z - 15 min.)');
  });

  it('rejects credentials scoped to another service', async () => {
    const error = expectError(
      verifySigV4(await signedRequest({ service: 'sts' }), lookup, () => NOW),
      'InvalidSignatureException',
    );
    expect(error.message).toContain("Credential should be scoped to correct service: 'dynamodb'.");
  });

  it('rejects an expired session even when the signature is valid', async () => {
    const later = NOW + 3601_000;
    const error = expectError(
      verifySigV4(await signedRequest({ signedAt: later }), lookup, () => later),
      'ExpiredTokenException',
    );
    expect(error.message).toBe('The security token included in the request is expired');
  });
});

describe('verifySigV4 with hostile header names', () => {
  it.each(['constructor', '__proto__', 'tostring', 'hasownproperty'])(
    'treats a SignedHeaders entry named %s as an absent header: a signature mismatch, never a crash',
    async (name) => {
      const request = await signedRequest();
      const authorization = String(request.headers.authorization).replace('SignedHeaders=', `SignedHeaders=${name};`);
      const result = verifySigV4({ ...request, headers: { ...request.headers, authorization } }, lookup, () => NOW);
      expectError(result, 'InvalidSignatureException');
    },
  );
});
