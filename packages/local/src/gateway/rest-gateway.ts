import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { ownRecord } from '@cellbook/core/shared/own-record';
import { GATEWAY_RESPONSES, type GatewayResponseType } from '@cellbook/functions/gateway-responses';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, isAwsError, type Authenticate, type Authorize, type Clock, type RequestListener, type RoleSession } from '../aws/types.js';
import { FunctionTimeout } from '../lambda/function-host.js';
import { isAllowed } from './authorizer-policy.js';
import { matchRoute } from './route-matcher.js';
import { answerBeforeBody } from '../early-answer.js';

export interface GatewayRoute {
  method: string;
  path: string;
  /** The function behind the route. */
  function: string;
  /** The REQUEST authorizer function; absent for public and IAM-authorized routes. */
  authorizer?: string;
  /**
   * `iam` (AWS_IAM authorization): the caller signs with SigV4 and needs `execute-api:Invoke` on the
   * method's ARN; the integration sees the verified caller in `requestContext.identity`.
   */
  authorization?: 'iam';
  apiKeyRequired: boolean;
}

export type MeterOutcome = 'allowed' | 'forbidden' | 'throttled' | 'quota-exceeded';

export interface RestGatewayOptions {
  apiId: string;
  stage: string;
  routes: readonly GatewayRoute[];
  /** API Gateway's authorizer result cache TTL (0 disables caching). */
  authorizerCacheTtlSeconds: number;
  invoke: (functionName: string, event: unknown, timeoutMs: number) => Promise<unknown>;
  /** The usage-plan check for a usage identifier key (API Gateway's API key + usage plans). */
  meter: (apiKeyValue: string) => MeterOutcome;
  now: Clock;
  /** API Gateway's integration timeout (29 s). */
  integrationTimeoutMs?: number;
  authorizerTimeoutMs?: number;
  /** One record per request, with the field names of the stacks' access log format (ACCESS_LOG_FIELDS). */
  onAccessLog?: (entry: Record<string, unknown>) => void;
  /** The id of the API key with this value (API Gateway logs the key's id, never its value). */
  apiKeyIdOf?: (apiKeyValue: string) => string | undefined;
  /**
   * Told of every answered request: its status and its latency in real milliseconds (whatever
   * `now` says), as CloudWatch's Count, 5XXError and Latency metrics see the stage.
   */
  onAnswer?: (answer: { status: number; latencyMs: number }) => void;
  /** The account's IAM, for routes with `authorization: 'iam'` (required if any route has it). */
  iam?: { authenticate: Authenticate; authorize: Authorize; userId: (session: RoleSession) => string };
}

/** API Gateway's payload limit. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

interface AuthorizerResult {
  principalId: string;
  policyDocument: unknown;
  context?: Record<string, string | number | boolean>;
  usageIdentifierKey?: string;
}

function isAuthorizerResult(value: unknown): value is AuthorizerResult {
  const result = value as AuthorizerResult | undefined;
  return typeof result?.principalId === 'string' && typeof result.policyDocument === 'object' && result.policyDocument !== null;
}

interface ProxyResult {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  multiValueHeaders?: Record<string, (string | number | boolean)[]>;
  body?: string;
  isBase64Encoded?: boolean;
}

function isProxyResult(value: unknown): value is ProxyResult {
  const result = value as ProxyResult | undefined;
  return (
    typeof result?.statusCode === 'number' &&
    Number.isInteger(result.statusCode) &&
    result.statusCode >= 100 &&
    result.statusCode <= 599 &&
    (result.body === undefined || typeof result.body === 'string')
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** `02/Dec/2026:13:45:07 +0000`, computed without Intl: it runs on every request, refused or not. */
function requestTime(epochMs: number): string {
  const date = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** A value of the authorizer's context as the access log writes it: `-` when absent. */
function logged(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '-';
}

/**
 * One access log record with the field names (and `-` for a value never learnt) of the stacks'
 * format, stacks/constructs/rest-api.ts ACCESS_LOG_FIELDS — so one reader (core's metering/access-log.ts)
 * reads both worlds' logs.
 */
function accessLogRecord(input: {
  requestId: string;
  started: number;
  latencyMs: number;
  status: number;
  req: IncomingMessage;
  stage: string;
  apiId: string;
  seen: { resourcePath?: string; authorizer?: Record<string, unknown>; apiKeyId?: string; integrationLatency?: number; errorType?: string };
}): Record<string, unknown> {
  const { seen, req } = input;
  const path = (req.url ?? '/').split('?')[0];
  return {
    requestId: input.requestId,
    requestTime: requestTime(input.started),
    requestTimeEpoch: input.started,
    httpMethod: (req.method ?? 'GET').toUpperCase(),
    resourcePath: seen.resourcePath ?? '-',
    path: `/${input.stage}${path}`,
    status: input.status,
    responseLatency: Math.round(input.latencyMs),
    integrationLatency: seen.integrationLatency === undefined ? '-' : String(Math.round(seen.integrationLatency)),
    tenantId: logged(seen.authorizer?.tenantId),
    cellId: logged(seen.authorizer?.cellId),
    tier: logged(seen.authorizer?.tier),
    principalId: logged(seen.authorizer?.principalId),
    apiKeyId: seen.apiKeyId ?? '-',
    errorType: seen.errorType ?? '-',
    authorizerError: '-',
    integrationError: '-',
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    userAgent: logged(req.headers['user-agent']),
    xrayTraceId: '-',
    apiId: input.apiId,
  };
}

/**
 * Reads the body up to API Gateway's limit. Past the limit it stops reading and leaves the rest
 * where it is (never destroying the request: the socket would be reset under the answer).
 */
function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: Buffer | 'too-large' | Error) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_PAYLOAD_BYTES) {
        req.pause();
        done('too-large');
      } else chunks.push(chunk);
    };
    const onEnd = () => done(Buffer.concat(chunks));
    const onError = (error: Error) => done(error);
    const onClose = () => done(new Error('the client closed the connection before the body ended'));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
}

/** A declared length over the limit is refused before a byte of the body is read. */
function declaresTooLarge(req: IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && /^\d+$/.test(declared) && Number(declared) > MAX_PAYLOAD_BYTES;
}

/**
 * Our API Gateway (REST API, one stage): route matching, the Lambda REQUEST authorizer with its
 * result cache, API keys and usage plans (via `meter`), REST v1 proxy events into the functions,
 * and API Gateway's own error responses. Nothing off the shelf enforces usage plans offline.
 */
export interface RestGateway {
  listener: RequestListener;
  /** What API Gateway's FlushStageAuthorizersCache does to this stage. */
  flushAuthorizerCache(): void;
}

export function createRestGateway(options: RestGatewayOptions): RestGateway {
  const authorizerCache = new Map<string, { result: AuthorizerResult; expiresAt: number }>();
  const integrationTimeoutMs = options.integrationTimeoutMs ?? 29_000;
  const authorizerTimeoutMs = options.authorizerTimeoutMs ?? 10_000;

  /** Authorizer calls in flight, by identity: concurrent requests with one token share one call. */
  const authorizing = new Map<string, Promise<AuthorizerResult>>();
  /** Bumped by a flush: a decision asked for before it is neither cached nor shared after it. */
  let cacheGeneration = 0;

  /**
   * The authorizer's decision for an identity: from the cache when it holds one (no event is even
   * built), else from one authorizer call shared by every request waiting on that identity, so a
   * tenant's burst at a cache expiry puts one invocation, not one per request, in front of others.
   */
  function authorize(route: GatewayRoute, identity: string, event: () => APIGatewayRequestAuthorizerEvent): Promise<AuthorizerResult> {
    const cached = authorizerCache.get(identity);
    if (cached && cached.expiresAt > options.now()) return Promise.resolve(cached.result);
    const pending = authorizing.get(identity);
    if (pending) return pending;
    const generation = cacheGeneration;
    const call = (async () => {
      const result = await options.invoke(route.authorizer!, event(), authorizerTimeoutMs);
      if (!isAuthorizerResult(result)) throw new Error('authorizer returned an invalid response');
      if (options.authorizerCacheTtlSeconds > 0 && generation === cacheGeneration) {
        if (authorizerCache.size > 10_000) authorizerCache.clear();
        authorizerCache.set(identity, { result, expiresAt: options.now() + options.authorizerCacheTtlSeconds * 1000 });
      }
      return result;
    })().finally(() => {
      if (authorizing.get(identity) === call) authorizing.delete(identity);
    });
    authorizing.set(identity, call);
    return call;
  }

  const listener: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    const started = options.now();
    const startedAt = performance.now();
    const answered = (status: number) => options.onAnswer?.({ status, latencyMs: performance.now() - startedAt });
    const requestId = randomUUID();
    // What the access log says of the request, learnt as it goes (API Gateway writes `-` for what it never learnt).
    const seen: { resourcePath?: string; authorizer?: Record<string, unknown>; apiKeyId?: string; integrationLatency?: number; errorType?: string } = {};
    const send = (status: number, headers: Record<string, string>, body: string | Buffer) => {
      if (req.complete) {
        res.writeHead(status, { 'x-amzn-RequestId': requestId, ...headers });
        res.end(body);
      } else {
        // Answered before the body was read (413, 401, 429…): the connection closes once the
        // rest of the body is drained, so neither the client nor a proxy's reused connection
        // ever meets a reset.
        answerBeforeBody(req, res, status, { 'x-amzn-RequestId': requestId, ...headers }, body);
      }
      options.onAccessLog?.(accessLogRecord({ requestId, started, latencyMs: performance.now() - startedAt, status, req, stage: options.stage, apiId: options.apiId, seen }));
      answered(status);
    };
    const gatewayResponse = (type: GatewayResponseType, extra: Record<string, string> = {}) => {
      const { statusCode, body } = GATEWAY_RESPONSES[type];
      seen.errorType = type;
      send(statusCode, { 'content-type': 'application/json', 'x-amzn-ErrorType': type, ...extra }, JSON.stringify(body));
    };

    void (async () => {
      const method = (req.method ?? 'GET').toUpperCase();
      if (declaresTooLarge(req)) return gatewayResponse('REQUEST_TOO_LARGE');
      // The target is the client's path, never a reference resolved against a base: `//x:99999/a`
      // would name an authority (an invalid one threw: a 500), a valid one would be dropped so
      // `//any-host/cases` reached `/cases`. A path with an empty segment names no resource.
      let url: URL;
      try {
        url = new URL(`http://gateway.local${req.url ?? '/'}`);
      } catch {
        return gatewayResponse('MISSING_AUTHENTICATION_TOKEN');
      }
      if (url.host !== 'gateway.local' || url.pathname.includes('//')) return gatewayResponse('MISSING_AUTHENTICATION_TOKEN');
      const match = matchRoute(options.routes, method, url.pathname);
      if (!match) return gatewayResponse('MISSING_AUTHENTICATION_TOKEN');
      const { route, pathParameters } = match;
      seen.resourcePath = route.path;

      // Names are the client's (`constructor`, `__proto__`…): every map of them has no prototype.
      const headers = ownRecord<string>();
      const multiValueHeaders = ownRecord<string[]>();
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!;
        const value = req.rawHeaders[i + 1]!;
        headers[name] = value;
        const values = multiValueHeaders[name] ?? [];
        values.push(value);
        multiValueHeaders[name] = values;
      }
      const query = ownRecord<string>();
      const multiQuery = ownRecord<string[]>();
      for (const [name, value] of url.searchParams) {
        query[name] = value;
        const values = multiQuery[name] ?? [];
        values.push(value);
        multiQuery[name] = values;
      }
      const hasQuery = Object.keys(query).length > 0;
      const methodArn = `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${options.apiId}/${options.stage}/${method}${url.pathname}`;
      const requestContext = {
        accountId: LOCAL_ACCOUNT_ID,
        apiId: options.apiId,
        httpMethod: method,
        path: `/${options.stage}${url.pathname}`,
        protocol: 'HTTP/1.1',
        requestId,
        requestTime: requestTime(started),
        requestTimeEpoch: started,
        resourceId: route.path,
        resourcePath: route.path,
        stage: options.stage,
        identity: {
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: headers['User-Agent'] ?? headers['user-agent'] ?? null,
        },
      };

      // What both the REQUEST authorizer and the integration see of the request.
      const requestFields = {
        resource: route.path,
        path: url.pathname,
        httpMethod: method,
        headers,
        multiValueHeaders,
        queryStringParameters: hasQuery ? query : null,
        multiValueQueryStringParameters: hasQuery ? multiQuery : null,
        pathParameters: Object.keys(pathParameters).length ? pathParameters : null,
        stageVariables: null,
      };

      let iamIdentity: Record<string, string> | undefined;
      let bodyRead: Buffer | undefined;
      if (route.authorization === 'iam') {
        if (!options.iam) throw new Error(`route ${route.method} ${route.path} needs IAM, which this gateway was not given`);
        const signed = headers.Authorization ?? headers.authorization;
        // As API Gateway: an unsigned request is "missing authentication token"; a bad signature or
        // a caller without execute-api:Invoke on this method's ARN is refused before the function runs.
        if (!signed) return gatewayResponse('MISSING_AUTHENTICATION_TOKEN');
        // A signature covers the payload, so a signed route reads the body before it authenticates.
        const signedBody = await readBody(req);
        if (signedBody === 'too-large') return gatewayResponse('REQUEST_TOO_LARGE');
        bodyRead = signedBody;
        const caller = await options.iam.authenticate({ method, url: req.url ?? '/', headers: req.headers, body: signedBody, service: 'execute-api' });
        if (isAwsError(caller)) return gatewayResponse('ACCESS_DENIED');
        const decision = await options.iam.authorize(caller, { action: 'execute-api:Invoke', resource: methodArn });
        if (!decision.allowed) return gatewayResponse('ACCESS_DENIED');
        const userId = options.iam.userId(caller);
        iamIdentity = { accountId: LOCAL_ACCOUNT_ID, caller: userId, user: userId, userArn: caller.assumedRoleArn, accessKey: caller.accessKeyId };
      }

      let authorizerContext: Record<string, unknown> | undefined;
      let apiKeyValue: string | undefined;
      if (route.authorizer) {
        const identity = headers.Authorization ?? headers.authorization ?? req.headers.authorization;
        // The identity source (Authorization header) is required: API Gateway answers 401 without invoking the authorizer.
        if (!identity) return gatewayResponse('UNAUTHORIZED');
        const authorizerEvent = () => ({ type: 'REQUEST', methodArn, ...requestFields, requestContext }) as unknown as APIGatewayRequestAuthorizerEvent;
        let result: AuthorizerResult;
        try {
          result = await authorize(route, identity, authorizerEvent);
        } catch (error) {
          if (error instanceof Error && error.message === 'Unauthorized') return gatewayResponse('UNAUTHORIZED');
          return gatewayResponse('AUTHORIZER_FAILURE');
        }
        if (!isAllowed(result.policyDocument, methodArn)) return gatewayResponse('ACCESS_DENIED');
        authorizerContext = ownRecord([...Object.entries(result.context ?? {}), ['principalId', result.principalId]]);
        seen.authorizer = authorizerContext;
        apiKeyValue = result.usageIdentifierKey;
        if (apiKeyValue !== undefined) seen.apiKeyId = options.apiKeyIdOf?.(apiKeyValue);
      }

      if (route.apiKeyRequired) {
        const outcome = apiKeyValue ? options.meter(apiKeyValue) : 'forbidden';
        if (outcome === 'forbidden') return gatewayResponse('INVALID_API_KEY');
        if (outcome === 'throttled') return gatewayResponse('THROTTLED');
        if (outcome === 'quota-exceeded') return gatewayResponse('QUOTA_EXCEEDED');
      }

      // The body is read only for a request the usage plan admits: a refusal costs no read.
      const body = bodyRead ?? (await readBody(req));
      if (body === 'too-large') return gatewayResponse('REQUEST_TOO_LARGE');

      const event: APIGatewayProxyEvent = {
        ...requestFields,
        requestContext: {
          ...requestContext,
          identity: { ...requestContext.identity, ...iamIdentity, apiKey: apiKeyValue ?? null },
          ...(authorizerContext ? { authorizer: authorizerContext } : {}),
        } as unknown as APIGatewayProxyEvent['requestContext'],
        body: body.byteLength ? body.toString('utf8') : null,
        isBase64Encoded: false,
      };

      let result: unknown;
      const integrationStartedAt = performance.now();
      try {
        result = await options.invoke(route.function, event, integrationTimeoutMs);
      } catch (error) {
        return gatewayResponse(error instanceof FunctionTimeout ? 'INTEGRATION_TIMEOUT' : 'INTEGRATION_FAILURE');
      } finally {
        seen.integrationLatency = performance.now() - integrationStartedAt;
      }
      if (!isProxyResult(result)) return gatewayResponse('INTEGRATION_FAILURE');
      const responseHeaders = ownRecord<string>();
      for (const [name, value] of Object.entries(result.headers ?? {})) responseHeaders[name] = String(value);
      for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) responseHeaders[name] = values.map(String).join(', ');
      const payload = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? '');
      send(result.statusCode, responseHeaders, payload);
    })().catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Internal server error' }));
        answered(500);
      } else if (!res.writableEnded) res.destroy();
      options.onAccessLog?.({ requestId, gatewayError: error instanceof Error ? error.message : String(error) });
    });
  };

  const flushAuthorizerCache = () => {
    cacheGeneration += 1;
    authorizerCache.clear();
    authorizing.clear();
  };
  return { listener, flushAuthorizerCache };
}
