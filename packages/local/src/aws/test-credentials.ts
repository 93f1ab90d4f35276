/**
 * Test fixtures for the stand-ins' injected authentication: a fake SigV4 front door that trusts
 * the access key id in the credential scope. Real signature checks are tested with LocalIam.
 */
import { awsError, type Authenticate, type RoleSession } from './types.js';

export function fakeRoleSession(accessKeyId: string, roleName: string): RoleSession {
  return {
    accessKeyId,
    secretAccessKey: 'secret',
    sessionToken: 'token',
    expiration: Date.now() + 3_600_000,
    roleArn: `arn:aws:iam::000000000000:role/${roleName}`,
    roleName,
    sessionName: 'test',
    assumedRoleArn: `arn:aws:sts::000000000000:assumed-role/${roleName}/test`,
    tags: {},
  };
}

/** `errorStatus`: the HTTP status the service uses for authentication failures (API Gateway: 403). */
export function fakeAuthenticate(lookup: (accessKeyId: string) => RoleSession | undefined, errorStatus = 400): Authenticate {
  return async (request) => {
    const authorization = request.headers.authorization;
    if (typeof authorization !== 'string') return awsError(errorStatus, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    const accessKeyId = /Credential=([^/]+)\//.exec(authorization)?.[1];
    const session = accessKeyId === undefined ? undefined : lookup(accessKeyId);
    if (!session) return awsError(errorStatus, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    return session;
  };
}
