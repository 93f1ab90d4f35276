/**
 * Shared vocabulary of the local AWS stand-ins. Every stand-in is an HTTP request listener that
 * speaks the real service's wire protocol, so the real AWS SDK v3 clients talk to it unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_REGION = 'us-east-1';

/** Milliseconds since the epoch; injectable so tests can move time without sleeping. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();

/** An IAM policy document (identity, trust or resource policy). */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Principal?: '*' | Record<string, string | string[]>;
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** A role in the local account: its identity policies and who may assume it. */
export interface RoleDefinition {
  name: string;
  /** arn:aws:iam::000000000000:role/<name> */
  arn: string;
  policies: { name: string; document: PolicyDocument }[];
  trustPolicy: PolicyDocument;
}

export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** epoch ms */
  expiration: number;
}

/** A live role session, as a signed request's access key resolves to it. */
export interface RoleSession extends TemporaryCredentials {
  roleArn: string;
  roleName: string;
  sessionName: string;
  /** arn:aws:sts::000000000000:assumed-role/<roleName>/<sessionName> */
  assumedRoleArn: string;
  /** Session tags (e.g. { TenantId: 't-1' }); exposed to policies as aws:PrincipalTag/<key>. */
  tags: Record<string, string>;
}

export interface AuthorizationRequest {
  action: string;
  resource: string;
  /** Service-specific context keys, e.g. { 'dynamodb:LeadingKeys': [...] }. */
  context?: Record<string, string | string[]>;
}

export interface AuthorizationDecision {
  allowed: boolean;
  /** Short human explanation used in AccessDenied messages and debug logs. */
  reason: string;
}

/** Authenticates a signed request (SigV4); resolves the caller or the AWS error to return. */
export type Authenticate = (request: SignedRequest) => Promise<RoleSession | AwsErrorShape>;
/** Evaluates a caller's identity policies (and principal tags) for one action on one resource. */
export type Authorize = (session: RoleSession, request: AuthorizationRequest) => Promise<AuthorizationDecision>;

/** What SigV4 verification needs from an incoming HTTP request. */
export interface SignedRequest {
  method: string;
  /** Path including the query string, exactly as received. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The service name expected in the credential scope, e.g. 'dynamodb', 'sts'. */
  service: string;
}

export interface AwsErrorShape {
  kind: 'aws-error';
  status: number;
  /** e.g. 'UnrecognizedClientException', 'InvalidSignatureException', 'AccessDeniedException' */
  code: string;
  message: string;
}

export function awsError(status: number, code: string, message: string): AwsErrorShape {
  return { kind: 'aws-error', status, code, message };
}

export function isAwsError(value: unknown): value is AwsErrorShape {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'aws-error';
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
