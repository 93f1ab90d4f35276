/**
 * The local account's IAM: roles, the sessions STS hands out for them, and policy evaluation.
 * Decisions come from `@cloud-copilot/iam-simulate` against the role's current documents, so a
 * policy change is visible on the very next call. A decision is a pure function of the session,
 * the role's documents and the request, so it is remembered (bounded, and forgotten whenever a
 * role's documents change): simulating a policy costs ~1–2 ms of the platform's one main thread,
 * and every DynamoDB request of every tenant is authorized, so without it one tenant's admitted
 * traffic queues its neighbours' requests behind policy evaluation (issue 12, item 4b).
 */
import { randomBytes } from 'node:crypto';
import { isWildcardOnlyAction, runSimulation, type RunSimulationResults, type Simulation } from '@cloud-copilot/iam-simulate';
import { verifyS3Signature, type S3AuthError, type S3Caller } from './s3-signature.js';
import { verifySigV4 } from './sigv4-verifier.js';
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_REGION,
  systemClock,
  type Authenticate,
  type AuthorizationDecision,
  type AuthorizationRequest,
  type Authorize,
  type Clock,
  type PolicyDocument,
  type RoleDefinition,
  type RoleSession,
  type SignedRequest,
  type TemporaryCredentials,
} from './types.js';

export interface LocalIamOptions {
  now?: Clock;
  /**
   * Regions a signature may be scoped to: every region the cell catalog names (one local endpoint
   * serves them all, as each regional endpoint would in AWS). Default: the local region only.
   */
  regions?: Iterable<string>;
}

/** A role as IAM stores it: the definition plus the unique id that appears in `aws:userid`. */
export interface IamRole extends RoleDefinition {
  /** e.g. AROA3XFRBF23EXAMPLE1 */
  roleId: string;
  /** Whether an identity policy names a context key that changes with every request (the time). */
  volatile: boolean;
}

export type AssumeRoleAction = 'sts:AssumeRole' | 'sts:TagSession';

export interface AssumeRoleDecision extends AuthorizationDecision {
  /** The action the decision is about; on a deny, the first one refused. */
  action: AssumeRoleAction;
  /**
   * What STS appends to "User: … is not authorized to perform: … on resource: …": the identity
   * policy clause, or nothing when the role's trust policy is what refused.
   */
  messageSuffix: string;
}

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
/** STS refuses an expired token for as long as it is presented; keep expired sessions this long to say so. */
const EXPIRED_SESSION_RETENTION_MS = 12 * 3600 * 1000;
/** Remembered decisions: enough for every session × action × key of a busy local platform. */
const DECISION_MEMORY = 20_000;
/**
 * Context keys whose value changes from one request to the next without the request changing: a
 * policy that names one is evaluated afresh every time.
 */
const VOLATILE_CONTEXT_KEY = /aws:(CurrentTime|EpochTime)/i;

export class LocalIam {
  private readonly now: Clock;
  private readonly regions: ReadonlySet<string>;
  private readonly roles = new Map<string, IamRole>();
  private readonly sessions = new Map<string, RoleSession>();
  private readonly wildcardOnly = new Map<string, Promise<boolean>>();
  /** Decisions by session, action, resource and request context (insertion order = age). */
  private readonly decisions = new Map<string, AuthorizationDecision>();

  constructor(options: LocalIamOptions = {}) {
    this.now = options.now ?? systemClock;
    this.regions = new Set([LOCAL_REGION, ...(options.regions ?? [])]);
  }

  createRole(def: RoleDefinition): IamRole {
    const match = ROLE_ARN.exec(def.arn);
    if (match === null || match[1] !== LOCAL_ACCOUNT_ID || match[2] !== def.name) {
      throw new Error(`Role ARN ${def.arn} is not arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${def.name}`);
    }
    if (this.roles.has(def.arn)) throw new Error(`Role ${def.arn} already exists`);
    // A private copy: later edits go through putRolePolicy, as they would through IAM.
    const role: IamRole = { ...structuredClone(def), roleId: `AROA${randomId(17)}`, volatile: false };
    role.volatile = mentionsVolatileContext(role);
    this.roles.set(def.arn, role);
    return role;
  }

  getRole(arn: string): IamRole | undefined {
    return this.roles.get(arn);
  }

  /** Creates or replaces an inline policy, like `iam:PutRolePolicy`; effective on the next request. */
  putRolePolicy(roleArn: string, policyName: string, document: PolicyDocument): void {
    const role = this.requireRole(roleArn);
    const others = role.policies.filter((policy) => policy.name !== policyName);
    role.policies = [...others, { name: policyName, document: structuredClone(document) }];
    role.volatile = mentionsVolatileContext(role);
    this.decisions.clear();
  }

  /** Replaces a role's trust policy, like `iam:UpdateAssumeRolePolicy`; effective on the next AssumeRole. */
  updateAssumeRolePolicy(roleArn: string, document: PolicyDocument): void {
    this.requireRole(roleArn).trustPolicy = structuredClone(document);
  }

  /**
   * Mints credentials for a role session without any authorization: this is how the platform hands a
   * function its execution role. Callers reaching STS over HTTP go through `canAssume` first.
   */
  issueRoleSession(roleArn: string, sessionName: string, tags: Record<string, string> = {}, durationSeconds = 3600): RoleSession {
    const role = this.requireRole(roleArn);
    const now = this.now();
    this.forgetLongExpiredSessions(now);
    const session: RoleSession = {
      accessKeyId: `ASIA${randomId(16)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      // STS reports expiry to the second; keep the stored value identical to what the client sees.
      expiration: Math.floor((now + durationSeconds * 1000) / 1000) * 1000,
      roleArn: role.arn,
      roleName: role.name,
      sessionName,
      assumedRoleArn: `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/${role.name}/${sessionName}`,
      tags: { ...tags },
    };
    this.sessions.set(session.accessKeyId, session);
    return session;
  }

  /**
   * Accepts again a session this IAM issued in an earlier run (the platform keeps the administrator's,
   * so a saved profile outlives a restart). Its role must exist; an expired one is refused as usual.
   */
  adoptSession(session: RoleSession): void {
    this.requireRole(session.roleArn);
    this.sessions.set(session.accessKeyId, { ...session, tags: { ...session.tags } });
  }

  resolveSession(accessKeyId: string): RoleSession | undefined {
    return this.sessions.get(accessKeyId);
  }

  /** `aws:userid` of a session: `<role id>:<session name>`, as GetCallerIdentity reports it. */
  userId(session: RoleSession): string {
    return `${this.requireRole(session.roleArn).roleId}:${session.sessionName}`;
  }

  readonly authenticate: Authenticate = async (request) => verifySigV4(request, (id) => this.resolveSession(id), this.now, this.regions);

  /** S3's flavour of SigV4 (header or presigned query), with S3's error codes (s3-signature.ts). */
  readonly authenticateS3 = (request: SignedRequest): S3Caller | S3AuthError => verifyS3Signature(request, (id) => this.resolveSession(id), this.now, this.regions);

  readonly authorize: Authorize = async (session, request) => {
    const role = this.roles.get(session.roleArn);
    if (role === undefined) return { allowed: false, reason: `because the role ${session.roleArn} no longer exists` };

    // The session fixes the role, its name and its tags; the rest of the context is the request's.
    const key = role.volatile ? undefined : JSON.stringify([session.accessKeyId, request.action, request.resource, request.context ?? {}]);
    const remembered = key === undefined ? undefined : this.decisions.get(key);
    if (remembered !== undefined) return remembered;
    const decision = await this.simulate(session, role, request);
    if (key !== undefined) {
      if (this.decisions.size >= DECISION_MEMORY) this.decisions.delete(this.decisions.keys().next().value as string);
      this.decisions.set(key, decision);
    }
    return decision;
  };

  private async simulate(session: RoleSession, role: IamRole, request: AuthorizationRequest): Promise<AuthorizationDecision> {
    const result = await runSimulation(
      {
        request: {
          principal: session.assumedRoleArn,
          action: request.action,
          resource: { resource: await this.simulatedResource(request.action, request.resource), accountId: LOCAL_ACCOUNT_ID },
          contextVariables: { ...request.context, ...this.principalContext(session, role) },
        },
        identityPolicies: identityPolicies(role),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (result.resultType === 'error') return { allowed: false, reason: simulationErrorReason(result) };
    if (result.overallResult === 'Allowed') return { allowed: true, reason: 'allowed by an identity-based policy' };
    return { allowed: false, reason: identityDenialSuffix(result.overallResult, request.action) };
  }

  /**
   * Whether `caller` may assume `targetRoleArn` (and tag the session when `withTags`). Stricter than
   * IAM on purpose: IAM lets a same-account trust policy that names the caller's role suffice on its
   * own, here the caller's identity policy must allow the action too — so whatever works locally also
   * works once the stack grants the function role `sts:AssumeRole`, never the other way round.
   */
  async canAssume(caller: RoleSession, targetRoleArn: string, withTags: boolean, requestContext: Record<string, string | string[]> = {}): Promise<AssumeRoleDecision> {
    const callerRole = this.roles.get(caller.roleArn);
    const target = this.roles.get(targetRoleArn);
    // IAM does not reveal whether a role exists: a missing one is simply not assumable.
    if (callerRole === undefined || target === undefined) {
      return { allowed: false, action: 'sts:AssumeRole', reason: `role ${targetRoleArn} cannot be assumed`, messageSuffix: '' };
    }

    const actions: AssumeRoleAction[] = withTags ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole'];
    for (const action of actions) {
      const result = await runSimulation(
        {
          request: {
            principal: caller.assumedRoleArn,
            action,
            resource: { resource: target.arn, accountId: LOCAL_ACCOUNT_ID },
            contextVariables: { ...requestContext, ...this.principalContext(caller, callerRole) },
          },
          identityPolicies: identityPolicies(callerRole),
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          resourcePolicy: target.trustPolicy,
        },
        {},
      );
      if (result.resultType === 'error') {
        return { allowed: false, action, reason: simulationErrorReason(result), messageSuffix: '' };
      }
      const analysis = result.resultType === 'single' ? result.result.analysis : result.results[0]?.analysis;
      const identityResult = analysis?.identityAnalysis?.result;
      const trustResult = analysis?.resourceAnalysis?.result;
      if (identityResult !== 'Allowed') {
        const suffix = identityDenialSuffix(identityResult === 'ExplicitlyDenied' ? 'ExplicitlyDenied' : 'ImplicitlyDenied', action);
        return { allowed: false, action, reason: suffix, messageSuffix: suffix };
      }
      // An explicit Deny anywhere, or a trust policy with no statement about the caller (which the
      // simulator reports as NotApplicable), must refuse.
      if (result.overallResult !== 'Allowed' || (trustResult !== 'Allowed' && trustResult !== 'AllowedForAccount')) {
        return {
          allowed: false,
          action,
          reason: `because the trust policy of ${target.arn} does not allow ${caller.assumedRoleArn} to perform ${action}`,
          messageSuffix: '',
        };
      }
    }
    return { allowed: true, action: 'sts:AssumeRole', reason: 'allowed by identity and trust policies', messageSuffix: '' };
  }

  private principalContext(session: RoleSession, role: IamRole): Record<string, string | string[]> {
    const now = this.now();
    const context: Record<string, string | string[]> = {
      'aws:PrincipalArn': role.arn,
      'aws:PrincipalAccount': LOCAL_ACCOUNT_ID,
      'aws:userid': `${role.roleId}:${session.sessionName}`,
      'aws:RequestedRegion': LOCAL_REGION,
      'aws:CurrentTime': new Date(now).toISOString(),
      'aws:EpochTime': String(Math.floor(now / 1000)),
    };
    for (const [key, value] of Object.entries(session.tags)) context[`aws:PrincipalTag/${key}`] = value;
    return context;
  }

  /**
   * Actions that take no resource type (ListTables, DescribeLimits) are authorized against "*";
   * their AccessDenied messages still name the ARN the service prints, which the caller passes.
   */
  private async simulatedResource(action: string, resource: string): Promise<string> {
    const colon = action.indexOf(':');
    if (colon === -1) return resource;
    let wildcardOnly = this.wildcardOnly.get(action);
    if (wildcardOnly === undefined) {
      wildcardOnly = isWildcardOnlyAction(action.slice(0, colon), action.slice(colon + 1)).catch((error: unknown) => {
        // iam-data has no such action; the simulation itself then reports it as an error (a deny).
        if (error instanceof Error) return false;
        throw error;
      });
      this.wildcardOnly.set(action, wildcardOnly);
    }
    return (await wildcardOnly) ? '*' : resource;
  }

  private requireRole(arn: string): IamRole {
    const role = this.roles.get(arn);
    if (role === undefined) throw new Error(`No such role: ${arn}`);
    return role;
  }

  private forgetLongExpiredSessions(now: number): void {
    for (const [id, session] of this.sessions) {
      if (session.expiration + EXPIRED_SESSION_RETENTION_MS < now) this.sessions.delete(id);
    }
  }
}

/**
 * Credentials in the shape AWS SDK v3 clients take. A `RoleSession` itself must not be passed: the
 * SDK reads `expiration` as a Date, and ours is epoch milliseconds.
 */
export function sdkCredentials(credentials: TemporaryCredentials): {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
} {
  return {
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    sessionToken: credentials.sessionToken,
    expiration: new Date(credentials.expiration),
  };
}

function mentionsVolatileContext(role: RoleDefinition): boolean {
  return role.policies.some((policy) => VOLATILE_CONTEXT_KEY.test(JSON.stringify(policy.document)));
}

function identityPolicies(role: IamRole): Simulation['identityPolicies'] {
  return role.policies.map((policy) => ({ name: policy.name, policy: policy.document }));
}

function identityDenialSuffix(result: string, action: string): string {
  return result === 'ExplicitlyDenied' ? 'with an explicit deny in an identity-based policy' : `because no identity-based policy allows the ${action} action`;
}

function simulationErrorReason(result: Extract<RunSimulationResults, { resultType: 'error' }>): string {
  const { message, ...details } = result.errors;
  return `because the policy simulation failed (${message}): ${JSON.stringify(details)}`;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Upper-case base32, the alphabet of real access key and role ids. */
function randomId(length: number): string {
  const bytes = randomBytes(length);
  let id = '';
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}
