/**
 * STS over its Query protocol (form-encoded POST in, XML out), enough for `AssumeRole` with session
 * tags and `GetCallerIdentity` from the real `@aws-sdk/client-sts`.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { LocalIam } from './local-iam.js';
import { readSignedRequest } from './sigv4-verifier.js';
import { LOCAL_ACCOUNT_ID, isAwsError, type RequestListener, type RoleSession } from './types.js';

const NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const API_VERSION = '2011-06-15';
const MAX_BODY_BYTES = 64 * 1024;
/** A role session assuming another role is role chaining, which STS caps at one hour. */
const ROLE_CHAINING_MAX_SECONDS = 3600;
const MAX_SESSION_TAGS = 50;

/** The JSON-service codes the verifier returns, as STS's Query protocol spells them. */
const STS_AUTH_ERRORS: Record<string, { status: number; code: string }> = {
  MissingAuthenticationTokenException: { status: 403, code: 'MissingAuthenticationToken' },
  IncompleteSignatureException: { status: 400, code: 'IncompleteSignature' },
  UnrecognizedClientException: { status: 403, code: 'InvalidClientTokenId' },
  InvalidSignatureException: { status: 403, code: 'SignatureDoesNotMatch' },
  ExpiredTokenException: { status: 400, code: 'ExpiredToken' },
};

export function createStsEndpoint(iam: LocalIam): RequestListener {
  return (req, res) => {
    handle(iam, req, res).catch((error: unknown) => {
      console.error('[local sts] request failed', error);
      if (!res.headersSent) sendError(res, 500, 'InternalFailure', 'The request processing has failed because of an unknown error.', 'Receiver');
      else res.destroy();
    });
  };
}

async function handle(iam: LocalIam, req: Parameters<RequestListener>[0], res: ServerResponse): Promise<void> {
  const signed = await readSignedRequest(req, 'sts', MAX_BODY_BYTES);
  if (isAwsError(signed)) return sendError(res, signed.status, signed.code, signed.message);

  const caller = await iam.authenticate(signed);
  if (isAwsError(caller)) {
    const mapped = STS_AUTH_ERRORS[caller.code] ?? { status: caller.status, code: caller.code };
    return sendError(res, mapped.status, mapped.code, caller.message);
  }

  // The Query protocol accepts parameters in the query string as well as in a form body.
  const queryStart = signed.url.indexOf('?');
  const params = new URLSearchParams(queryStart === -1 ? '' : signed.url.slice(queryStart + 1));
  for (const [key, value] of new URLSearchParams(signed.body.toString('utf8'))) params.append(key, value);

  const action = params.get('Action');
  if (action === null) return sendError(res, 400, 'MissingAction', 'Missing Action');
  const version = params.get('Version');
  if (version !== API_VERSION) {
    return sendError(res, 400, 'InvalidAction', `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`);
  }

  switch (action) {
    case 'AssumeRole':
      return assumeRole(iam, caller, params, res);
    case 'GetCallerIdentity':
      return sendXml(
        res,
        200,
        'GetCallerIdentity',
        `<Arn>${xml(caller.assumedRoleArn)}</Arn><UserId>${xml(iam.userId(caller))}</UserId><Account>${LOCAL_ACCOUNT_ID}</Account>`,
      );
    default:
      return sendError(res, 400, 'InvalidAction', `Could not find operation ${action} for version ${API_VERSION}`);
  }
}

async function assumeRole(iam: LocalIam, caller: RoleSession, params: URLSearchParams, res: ServerResponse): Promise<void> {
  const roleArn = params.get('RoleArn');
  const sessionName = params.get('RoleSessionName');
  const rawDuration = params.get('DurationSeconds');
  const tags = readTags(params);

  const problems: string[] = [];
  if (roleArn === null) problems.push(notNull('roleArn'));
  else if (roleArn.length < 20 || roleArn.length > 2048) problems.push(constraint(roleArn, 'roleArn', lengthRule(20, 2048, roleArn.length)));
  if (sessionName === null) problems.push(notNull('roleSessionName'));
  else {
    if (sessionName.length < 2 || sessionName.length > 64) {
      problems.push(constraint(sessionName, 'roleSessionName', lengthRule(2, 64, sessionName.length)));
    }
    if (!/^[\w+=,.@-]*$/.test(sessionName)) {
      problems.push(constraint(sessionName, 'roleSessionName', 'Member must satisfy regular expression pattern: [\\w+=,.@-]*'));
    }
  }
  const durationSeconds = rawDuration === null ? 3600 : Number(rawDuration);
  if (rawDuration !== null) {
    if (!/^\d+$/.test(rawDuration)) problems.push(constraint(rawDuration, 'durationSeconds', 'Member must be an integer'));
    else if (durationSeconds < 900) problems.push(constraint(rawDuration, 'durationSeconds', 'Member must have value greater than or equal to 900'));
    else if (durationSeconds > 43200) problems.push(constraint(rawDuration, 'durationSeconds', 'Member must have value less than or equal to 43200'));
  }
  problems.push(...tagProblems(tags));
  if (problems.length > 0 || roleArn === null || sessionName === null) {
    const count = problems.length === 1 ? '1 validation error detected' : `${problems.length} validation errors detected`;
    return sendError(res, 400, 'ValidationError', `${count}: ${problems.join('; ')}`);
  }
  const targetArn = roleArn;
  const name = sessionName;

  const lowerKeys = new Set(tags.map((tag) => tag.key.toLowerCase()));
  if (lowerKeys.size !== tags.length) {
    return sendError(res, 400, 'InvalidParameterValue', 'Duplicate tag keys found. Please note that Tag keys are case insensitive.');
  }
  // A session policy narrows what the session may do; silently dropping one would grant more
  // locally than in AWS, so refuse it instead.
  if (params.has('Policy') || [...params.keys()].some((key) => key.startsWith('PolicyArns.'))) {
    return sendError(res, 400, 'ValidationError', 'Session policies (Policy, PolicyArns) are not supported by the local STS');
  }

  // Prototype-free maps: a tag key named `__proto__` must be a key like any other, not vanish.
  const requestContext: Record<string, string | string[]> = Object.assign(Object.create(null), { 'sts:RoleSessionName': name });
  const externalId = params.get('ExternalId');
  if (externalId !== null) requestContext['sts:ExternalId'] = externalId;
  const sourceIdentity = params.get('SourceIdentity');
  if (sourceIdentity !== null) requestContext['sts:SourceIdentity'] = sourceIdentity;
  const sessionTags: Record<string, string> = Object.create(null);
  for (const tag of tags) sessionTags[tag.key] = tag.value ?? '';
  if (tags.length > 0) {
    requestContext['aws:TagKeys'] = Object.keys(sessionTags);
    for (const [key, value] of Object.entries(sessionTags)) requestContext[`aws:RequestTag/${key}`] = value;
  }

  const decision = await iam.canAssume(caller, targetArn, tags.length > 0, requestContext);
  if (!decision.allowed) {
    const suffix = decision.messageSuffix === '' ? '' : ` ${decision.messageSuffix}`;
    return sendError(res, 403, 'AccessDenied', `User: ${caller.assumedRoleArn} is not authorized to perform: ${decision.action} on resource: ${targetArn}${suffix}`);
  }
  if (durationSeconds > ROLE_CHAINING_MAX_SECONDS) {
    return sendError(res, 400, 'ValidationError', 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
  }

  const session = iam.issueRoleSession(targetArn, name, sessionTags, durationSeconds);
  sendXml(
    res,
    200,
    'AssumeRole',
    (sourceIdentity === null ? '' : `<SourceIdentity>${xml(sourceIdentity)}</SourceIdentity>`) +
      `<AssumedRoleUser><Arn>${xml(session.assumedRoleArn)}</Arn><AssumedRoleId>${xml(iam.userId(session))}</AssumedRoleId></AssumedRoleUser>` +
      `<Credentials><AccessKeyId>${session.accessKeyId}</AccessKeyId><SecretAccessKey>${xml(session.secretAccessKey)}</SecretAccessKey>` +
      `<SessionToken>${xml(session.sessionToken)}</SessionToken><Expiration>${new Date(session.expiration).toISOString().replace('.000Z', 'Z')}</Expiration></Credentials>`,
  );
}

interface SessionTag {
  index: number;
  key: string;
  /** null when the member has a Key but no Value, which STS rejects. */
  value: string | null;
}

/** `Tags.member.N.Key` / `Tags.member.N.Value`, in member order. */
function readTags(params: URLSearchParams): SessionTag[] {
  const tags: SessionTag[] = [];
  for (const [name, key] of params) {
    const match = /^Tags\.member\.(\d+)\.Key$/.exec(name);
    if (match === null) continue;
    const index = Number(match[1]);
    tags.push({ index, key, value: params.get(`Tags.member.${index}.Value`) });
  }
  return tags.sort((a, b) => a.index - b.index);
}

function tagProblems(tags: SessionTag[]): string[] {
  const problems: string[] = [];
  if (tags.length > MAX_SESSION_TAGS) {
    problems.push(constraint(`[${tags.length} tags]`, 'tags', `Member must have length less than or equal to ${MAX_SESSION_TAGS}`));
  }
  const allowed = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
  for (const tag of tags) {
    const where = `tags.${tag.index}.member`;
    if (tag.key.length < 1 || tag.key.length > 128) problems.push(constraint(tag.key, `${where}.key`, lengthRule(1, 128, tag.key.length)));
    if (!allowed.test(tag.key)) {
      problems.push(constraint(tag.key, `${where}.key`, 'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+'));
    }
    if (tag.value === null) {
      problems.push(notNull(`${where}.value`));
      continue;
    }
    if (tag.value.length > 256) problems.push(constraint(tag.value, `${where}.value`, 'Member must have length less than or equal to 256'));
    if (!allowed.test(tag.value)) {
      problems.push(constraint(tag.value, `${where}.value`, 'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*'));
    }
  }
  return problems;
}

function notNull(member: string): string {
  return `Value null at '${member}' failed to satisfy constraint: Member must not be null`;
}

function constraint(value: string, member: string, rule: string): string {
  return `Value '${value}' at '${member}' failed to satisfy constraint: ${rule}`;
}

function lengthRule(min: number, max: number, length: number): string {
  return length < min ? `Member must have length greater than or equal to ${min}` : `Member must have length less than or equal to ${max}`;
}

function sendXml(res: ServerResponse, status: number, action: string, result: string): void {
  const requestId = randomUUID();
  send(
    res,
    status,
    requestId,
    `<${action}Response xmlns="${NAMESPACE}">\n  <${action}Result>${result}</${action}Result>\n` +
      `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`,
  );
}

function sendError(res: ServerResponse, status: number, code: string, message: string, type: 'Sender' | 'Receiver' = 'Sender'): void {
  const requestId = randomUUID();
  send(
    res,
    status,
    requestId,
    `<ErrorResponse xmlns="${NAMESPACE}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${xml(code)}</Code>\n` +
      `    <Message>${xml(message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
  );
}

function send(res: ServerResponse, status: number, requestId: string, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
  });
  res.end(body);
}

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

function xml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => XML_ENTITIES[c] ?? c);
}
