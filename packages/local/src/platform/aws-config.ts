/**
 * `.cellbook/aws-config`: an AWS shared config file with one profile, `cellbook-local`, holding the
 * platform administrator's credentials and every local endpoint, so the AWS CLI (v2), NoSQL
 * Workbench, the SDKs or a script read the local tables, users, keys and objects as they would an
 * account's:
 *
 *   AWS_CONFIG_FILE=.cellbook/aws-config AWS_PROFILE=cellbook-local aws dynamodb list-tables
 *
 * Endpoints go in a `[services …]` section (the shared config's service-specific `endpoint_url`),
 * one per service, under the service's identifier as the AWS_ENDPOINT_URL_<SERVICE> variables name it.
 */
import type { TemporaryCredentials } from '../aws/types.js';

export const AWS_PROFILE_NAME = 'cellbook-local';

/** The endpoints of the profile, by the shared config's service identifier. */
export interface ProfileEndpoints {
  dynamodb: string;
  s3: string;
  sts: string;
  cognito_identity_provider: string;
  api_gateway: string;
  eventbridge: string;
}

export interface ProfileInput {
  region: string;
  credentials: TemporaryCredentials;
  endpoints: { dynamodb: string; s3: string; sts: string; cognito: string; apiGateway: string; eventBridge: string };
}

/** The file's text. */
export function awsConfigText({ region, credentials, endpoints }: ProfileInput): string {
  const services: ProfileEndpoints = {
    dynamodb: endpoints.dynamodb,
    s3: endpoints.s3,
    sts: endpoints.sts,
    cognito_identity_provider: endpoints.cognito,
    api_gateway: endpoints.apiGateway,
    eventbridge: endpoints.eventBridge,
  };
  return [
    '# Written by `npm start` at every start: the local platform as an AWS profile (the platform',
    '# administrator, allowed everything). Use it with:',
    `#   AWS_CONFIG_FILE=.cellbook/aws-config AWS_PROFILE=${AWS_PROFILE_NAME} aws dynamodb list-tables`,
    `# The credentials expire ${new Date(credentials.expiration).toISOString()}; a start within a day of that writes new ones.`,
    `[profile ${AWS_PROFILE_NAME}]`,
    `region = ${region}`,
    `aws_access_key_id = ${credentials.accessKeyId}`,
    `aws_secret_access_key = ${credentials.secretAccessKey}`,
    `aws_session_token = ${credentials.sessionToken}`,
    // Path-style addressing: the local S3 endpoint has no per-bucket host names.
    's3 =',
    '  addressing_style = path',
    `services = ${AWS_PROFILE_NAME}`,
    '',
    `[services ${AWS_PROFILE_NAME}]`,
    ...Object.entries(services).flatMap(([service, url]) => [`${service} =`, `  endpoint_url = ${url}`]),
    '',
  ].join('\n');
}
