import aws4 from 'aws4';
import type { RoleSession } from '@cellbook/local/aws/types';
import { rawRequest, type RawResponse } from './raw-http.js';

/**
 * A SigV4-signed request built by `aws4` (not the AWS SDK) and sent with plain node:http: the body
 * is sent exactly as given, so member names the SDK would drop or rename reach the endpoint.
 */
export function signedRequest(
  endpoint: string,
  session: Pick<RoleSession, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>,
  request: { service: string; region?: string; method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<RawResponse> {
  const url = new URL(endpoint);
  const signed = aws4.sign(
    {
      host: url.host,
      method: request.method ?? 'POST',
      path: request.path ?? '/',
      service: request.service,
      region: request.region ?? 'us-east-1',
      headers: { ...request.headers },
      ...(request.body !== undefined ? { body: request.body } : {}),
    },
    { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey, sessionToken: session.sessionToken },
  );
  const headers = Object.entries(signed.headers ?? {}).map(([name, value]) => [name, String(value)] as const);
  return rawRequest(endpoint, {
    method: signed.method ?? 'POST',
    target: signed.path ?? '/',
    headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
}

/** A DynamoDB JSON-protocol call (`DynamoDB_20120810.<operation>`) with the body as given. */
export function dynamoDbCall(
  endpoint: string,
  session: Pick<RoleSession, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>,
  operation: string,
  body: string,
  region?: string,
) {
  return signedRequest(endpoint, session, {
    service: 'dynamodb',
    ...(region !== undefined ? { region } : {}),
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${operation}` },
    body,
  });
}
