/**
 * One user pool's HTTP surface: the cognito-idp JSON 1.1 calls, dispatched by `X-Amz-Target` (admin
 * calls signed and authorized by IAM on the pool they name), and the issuer's JWKS and OpenID
 * configuration.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JSON_11, headerValue, parseJsonObject, readBody, sendJson, sendJsonError, type JsonObject } from '../json-protocol.js';
import { LOCAL_ACCOUNT_ID, isAwsError, type Authenticate, type Authorize, type RoleSession } from '../types.js';
import { CognitoError, requiredString, serializationError } from './protocol.js';

const TARGET_PREFIX = 'AWSCognitoIdentityProviderService.';

/** One API operation of the pool; `signed` ones are admin calls, which IAM authorizes. */
export type PoolOperation = { signed: boolean; handle: (input: JsonObject) => JsonObject | Promise<JsonObject> };

export interface PoolListenerOptions {
  userPoolId: string;
  region: string;
  issuer: string;
  jwksUrl: string;
  jwks: object;
  operations: ReadonlyMap<string, PoolOperation>;
  authenticate: Authenticate;
  authorize: Authorize;
}

/** The pool's `serve`: answers one request, whose body `createCognitoService` may already have read. */
export function createPoolListener({ userPoolId, region, issuer, jwksUrl, jwks, operations, authenticate, authorize }: PoolListenerOptions) {
  async function authorizeAdminCall(req: IncomingMessage, body: Buffer, operation: string, input: JsonObject) {
    const caller = await authenticate({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body, service: 'cognito-idp' });
    if (isAwsError(caller)) throw new CognitoError(caller.code, caller.message, caller.status);
    // IAM evaluates the pool named in the request, so a caller learns nothing about pools it may not touch.
    const requestedPoolId = requiredString(input, 'UserPoolId');
    const resource = poolArn(region, requestedPoolId);
    await requireAllowed(authorize, caller, `cognito-idp:${operation}`, resource);
    if (requestedPoolId !== userPoolId) {
      throw new CognitoError('ResourceNotFoundException', `User pool ${requestedPoolId} does not exist.`);
    }
  }

  async function handleApiCall(req: IncomingMessage, res: ServerResponse, alreadyRead?: Buffer): Promise<void> {
    const body = alreadyRead ?? (await readBody(req));
    const target = headerValue(req, 'x-amz-target');
    const operationName = target?.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
    const operation = operationName === undefined ? undefined : operations.get(operationName);
    if (!operation || operationName === undefined) {
      throw new CognitoError('UnknownOperationException', `Unknown operation ${target ?? '(missing X-Amz-Target)'}`);
    }
    const input = parseJsonObject(body, serializationError);
    if (operation.signed) await authorizeAdminCall(req, body, operationName, input);
    sendJson(res, 200, await operation.handle(input));
  }

  async function handle(req: IncomingMessage, res: ServerResponse, alreadyRead?: Buffer): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === `/${userPoolId}/.well-known/jwks.json`) {
      return sendJson(res, 200, jwks, 'application/json');
    }
    if (req.method === 'GET' && path === `/${userPoolId}/.well-known/openid-configuration`) {
      return sendJson(
        res,
        200,
        {
          issuer,
          jwks_uri: jwksUrl,
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        },
        'application/json',
      );
    }
    if (req.method === 'POST' && path === '/') return handleApiCall(req, res, alreadyRead);
    req.resume();
    sendJson(res, 404, { message: 'Not Found' }, 'application/json');
  }

  const serve = (req: IncomingMessage, res: ServerResponse, alreadyRead?: Buffer): void => {
    handle(req, res, alreadyRead).catch((error: unknown) => {
      if (error instanceof CognitoError) {
        sendJsonError(res, error);
        return;
      }
      // Anything unexpected is our bug; the caller gets Cognito's generic answer, never the detail.
      sendJson(res, 500, { __type: 'InternalErrorException', message: 'Internal server error.' }, JSON_11, 'InternalErrorException');
    });
  };
  return serve;
}

export function poolArn(region: string, userPoolId: string): string {
  return `arn:aws:cognito-idp:${region}:${LOCAL_ACCOUNT_ID}:userpool/${userPoolId}`;
}

async function requireAllowed(authorize: Authorize, caller: RoleSession, action: string, resource: string): Promise<void> {
  const decision = await authorize(caller, { action, resource });
  if (!decision.allowed) {
    throw new CognitoError(
      'AccessDeniedException',
      `User: ${caller.assumedRoleArn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
    );
  }
}
