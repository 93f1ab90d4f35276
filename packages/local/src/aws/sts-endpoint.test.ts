import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, type AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROLE, OTHER_API_ROLE, TENANT_ROLE, apiRole, lambdaTrust, otherApiRole, tenantAccessRole } from './cell-roles.fixture.js';
import { LocalIam, sdkCredentials } from './local-iam.js';
import { rejection } from './sdk-rejection.fixture.js';
import { createStsEndpoint } from './sts-endpoint.js';

const iam = new LocalIam();
let server: Server;
let endpoint: string;

beforeAll(async () => {
  for (const role of [apiRole, otherApiRole, tenantAccessRole([])]) iam.createRole(role);
  server = createServer(createStsEndpoint(iam));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

function sts(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string }): STSClient {
  return new STSClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
}

const callerSession = (roleArn: string): ReturnType<typeof sdkCredentials> => sdkCredentials(iam.issueRoleSession(roleArn, 'lambda'));

const tenantRequest = (overrides: Partial<AssumeRoleCommandInput> = {}): AssumeRoleCommandInput => ({
  RoleArn: TENANT_ROLE,
  RoleSessionName: 'tenant-t-1',
  DurationSeconds: 900,
  Tags: [{ Key: 'TenantId', Value: 't-1' }],
  TransitiveTagKeys: ['TenantId'],
  ...overrides,
});

describe('STS AssumeRole', () => {
  it('gives the role the trust policy names tagged credentials the SDK parses', async () => {
    const before = Date.now();
    const { Credentials, AssumedRoleUser } = await sts(callerSession(API_ROLE)).send(new AssumeRoleCommand(tenantRequest()));
    const after = Date.now();

    expect(Credentials?.AccessKeyId).toMatch(/^ASIA/);
    expect(AssumedRoleUser?.Arn).toBe('arn:aws:sts::000000000000:assumed-role/cell-1-tenant-access/tenant-t-1');
    expect(AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z2-7]{17}:tenant-t-1$/);
    // STS reports expiry to the second: at most 900 s after the call ended, and less than a second
    // before 900 s after it began.
    const expiration = Credentials?.Expiration?.getTime() ?? 0;
    expect(expiration).toBeGreaterThan(before + 899_000);
    expect(expiration).toBeLessThanOrEqual(after + 900_000);

    const session = iam.resolveSession(Credentials?.AccessKeyId ?? '');
    expect(session).toMatchObject({ roleArn: TENANT_ROLE, tags: { TenantId: 't-1' }, sessionToken: Credentials?.SessionToken });
  });

  it('lets the new credentials call GetCallerIdentity', async () => {
    const { Credentials } = await sts(callerSession(API_ROLE)).send(new AssumeRoleCommand(tenantRequest()));
    const identity = await sts({
      accessKeyId: Credentials?.AccessKeyId ?? '',
      secretAccessKey: Credentials?.SecretAccessKey ?? '',
      sessionToken: Credentials?.SessionToken ?? '',
    }).send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({
      Account: '000000000000',
      Arn: 'arn:aws:sts::000000000000:assumed-role/cell-1-tenant-access/tenant-t-1',
      UserId: expect.stringMatching(/^AROA[A-Z2-7]{17}:tenant-t-1$/),
    });
  });

  it('answers AccessDenied to a role the trust policy does not name', async () => {
    const error = await rejection(sts(callerSession(OTHER_API_ROLE)).send(new AssumeRoleCommand(tenantRequest())));
    expect(error.name).toBe('AccessDenied');
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.message).toBe(`User: arn:aws:sts::000000000000:assumed-role/cell-2-api/lambda is not authorized to perform: sts:AssumeRole on resource: ${TENANT_ROLE}`);
  });

  it('rejects a malformed session name and duration in one ValidationError', async () => {
    const error = await rejection(sts(callerSession(API_ROLE)).send(new AssumeRoleCommand(tenantRequest({ RoleSessionName: 'has space', DurationSeconds: 60 }))));
    expect(error.name).toBe('ValidationError');
    expect(error.message).toBe(
      "2 validation errors detected: Value 'has space' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*; " +
        "Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );
  });

  it('rejects a tag value with characters STS does not allow', async () => {
    const error = await rejection(sts(callerSession(API_ROLE)).send(new AssumeRoleCommand(tenantRequest({ Tags: [{ Key: 'TenantId', Value: 't-1;drop' }] }))));
    expect(error.name).toBe('ValidationError');
    expect(error.message).toContain("at 'tags.1.member.value'");
  });

  it('caps a role-chained session at one hour', async () => {
    const error = await rejection(sts(callerSession(API_ROLE)).send(new AssumeRoleCommand(tenantRequest({ DurationSeconds: 7200 }))));
    expect(error.name).toBe('ValidationError');
    expect(error.message).toBe('The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
  });

  it('rejects credentials it never issued', async () => {
    const error = await rejection(sts({ accessKeyId: 'ASIAUNKNOWNUNKNOWN00', secretAccessKey: 'x', sessionToken: 'y' }).send(new AssumeRoleCommand(tenantRequest())));
    expect(error.name).toBe('InvalidClientTokenId');
    expect(error.$metadata.httpStatusCode).toBe(403);
  });

  it('keeps a tag key named __proto__ as a key like any other, so the trust policy sees every tag', async () => {
    const requested: string[][] = [];
    const probe = new LocalIam();
    const original = probe.canAssume.bind(probe);
    probe.canAssume = async (caller, target, withTags, context) => {
      requested.push([...((context?.['aws:TagKeys'] as string[] | undefined) ?? [])]);
      return original(caller, target, withTags, context);
    };
    const probeServer = createServer(createStsEndpoint(probe));
    await new Promise<void>((resolve) => probeServer.listen(0, '127.0.0.1', resolve));
    try {
      probe.createRole(apiRole);
      probe.createRole({ name: 'cell-1-tenant-access', arn: TENANT_ROLE, policies: [], trustPolicy: lambdaTrust });
      const client = new STSClient({
        endpoint: `http://127.0.0.1:${(probeServer.address() as AddressInfo).port}`,
        region: 'us-east-1',
        credentials: sdkCredentials(probe.issueRoleSession(API_ROLE, 'lambda')),
        maxAttempts: 1,
      });
      const error = await rejection(
        client.send(
          new AssumeRoleCommand(
            tenantRequest({
              Tags: [
                { Key: 'TenantId', Value: 't-1' },
                { Key: '__proto__', Value: 'x' },
              ],
            }),
          ),
        ),
      );
      client.destroy();
      expect(error.name).toBe('AccessDenied');
      expect(requested).toEqual([['TenantId', '__proto__']]);
    } finally {
      await new Promise<void>((resolve) => probeServer.close(() => resolve()));
    }
  });
});
