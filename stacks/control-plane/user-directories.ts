import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { NagSuppressions } from 'cdk-nag';
import { Function as SstFunction, type App, type Stack } from 'sst/constructs';
import * as Identity from '@cellbook/core/integrations/identity';
import { TENANT_ATTRIBUTE_NAME } from '@cellbook/core/tenancy/tenant-attribute';
import { functionRole, handlerProps } from '../constructs/functions.js';
import { PINNED_RUNTIME, XRAY_WILDCARD } from '../constructs/nag.js';
import { isDevStage, resourceName } from '../constructs/stage.js';

/**
 * Both directories' app clients: POST /auth/token is username + password (DESIGN §5), and the
 * client holds no secret.
 */
const SIGN_IN_CLIENT_SETTINGS = {
  authFlows: { userPassword: true },
  generateSecret: false,
  disableOAuth: true,
  preventUserExistenceErrors: true,
  enableTokenRevocation: true,
  accessTokenValidity: Duration.hours(1),
  idTokenValidity: Duration.hours(1),
} satisfies cognito.UserPoolClientOptions;

/**
 * The two user directories (DESIGN §13): the tenant pool (tenant admins and users, bound to their
 * tenant by an immutable attribute) and the operators' own pool, on which no function role of the
 * app holds any permission (operators are created by the deployer). The cells' authorizers accept
 * only tokens of the tenant pool, the operator authorizer only tokens of the operator pool. One
 * pre-token-generation trigger puts `roles` (and, for tenant users, `tenant_id`) into both pools'
 * access tokens.
 */
export function userDirectories(stack: Stack, app: App) {
  const dev = isDevStage(app);
  const userPool = new cognito.UserPool(stack, 'UserPool', {
    userPoolName: resourceName(app, 'users'),
    // Access-token customization (the pre-token-generation V2 trigger) needs the Essentials plan.
    featurePlan: cognito.FeaturePlan.ESSENTIALS,
    // Nobody signs themselves up: operators onboard tenant admins, tenant admins invite users.
    selfSignUpEnabled: false,
    signInAliases: { username: true },
    signInCaseSensitive: false,
    standardAttributes: { email: { required: false, mutable: true } },
    // Immutable: once Cognito has bound a user to a tenant, nobody can rebind it.
    customAttributes: { [TENANT_ATTRIBUTE_NAME]: new cognito.StringAttribute({ mutable: false }) },
    passwordPolicy: {
      minLength: 12,
      requireLowercase: true,
      requireUppercase: true,
      requireDigits: true,
      requireSymbols: true,
      tempPasswordValidity: Duration.days(7),
    },
    accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
    mfa: cognito.Mfa.OFF,
    deletionProtection: !dev,
    removalPolicy: dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  });
  for (const group of Identity.ROLES) {
    new cognito.CfnUserPoolGroup(stack, `Group-${group}`, { userPoolId: userPool.userPoolId, groupName: group, description: `Tenant ${group}s` });
  }
  const userPoolClient = userPool.addClient('ApiClient', {
    userPoolClientName: resourceName(app, 'api'),
    ...SIGN_IN_CLIENT_SETTINGS,
    refreshTokenValidity: Duration.days(30),
    readAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true, emailVerified: true }).withCustomAttributes(TENANT_ATTRIBUTE_NAME),
    // Only the control plane (admin APIs) writes attributes; a user's own token can change none.
    writeAttributes: new cognito.ClientAttributes().withStandardAttributes({}),
  });
  const identityEnvironment = {
    USER_POOL_ID: userPool.userPoolId,
    USER_POOL_CLIENT_ID: userPoolClient.userPoolClientId,
    JWT_ISSUER: userPool.userPoolProviderUrl,
  };

  const operatorPool = new cognito.UserPool(stack, 'OperatorPool', {
    userPoolName: resourceName(app, 'operators'),
    featurePlan: cognito.FeaturePlan.ESSENTIALS,
    selfSignUpEnabled: false,
    signInAliases: { username: true },
    signInCaseSensitive: false,
    standardAttributes: { email: { required: false, mutable: true } },
    passwordPolicy: {
      minLength: 14,
      requireLowercase: true,
      requireUppercase: true,
      requireDigits: true,
      requireSymbols: true,
      tempPasswordValidity: Duration.days(1),
    },
    accountRecovery: cognito.AccountRecovery.NONE,
    mfa: cognito.Mfa.OFF,
    deletionProtection: !dev,
    removalPolicy: dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  });
  new cognito.CfnUserPoolGroup(stack, `Group-${Identity.OPERATOR_ROLE}`, {
    userPoolId: operatorPool.userPoolId,
    groupName: Identity.OPERATOR_ROLE,
    description: 'Cellbook operators (control plane)',
  });
  const operatorPoolClient = operatorPool.addClient('OperatorClient', {
    userPoolClientName: resourceName(app, 'operator-api'),
    ...SIGN_IN_CLIENT_SETTINGS,
    refreshTokenValidity: Duration.hours(12),
    readAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true, emailVerified: true }),
    writeAttributes: new cognito.ClientAttributes().withStandardAttributes({}),
  });
  const operatorIdentityEnvironment = {
    OPERATOR_POOL_ID: operatorPool.userPoolId,
    OPERATOR_POOL_CLIENT_ID: operatorPoolClient.userPoolClientId,
    OPERATOR_JWT_ISSUER: operatorPool.userPoolProviderUrl,
  };

  const tokenClaimsRole = functionRole(stack, 'TokenClaimsRole', 'Cognito pre-token-generation trigger: no AWS access');
  const tokenClaims = new SstFunction(
    stack,
    'TokenClaims',
    handlerProps(stack, 'TokenClaims', { handler: 'cognito/pre-token-generation', role: tokenClaimsRole, environment: {} }),
  );
  userPool.addTrigger(cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, tokenClaims, cognito.LambdaVersion.V2_0);
  // The operator pool's tokens carry `roles` the same way (and never a tenant).
  operatorPool.addTrigger(cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, tokenClaims, cognito.LambdaVersion.V2_0);

  NagSuppressions.addResourceSuppressions(operatorPool, [
    {
      id: 'AwsSolutions-COG2',
      reason:
        'MFA is off: POST /auth/token (DESIGN §5) answers only the NEW_PASSWORD_REQUIRED challenge, not SOFTWARE_TOKEN_MFA, so an enrolled second factor would lock operators out. MFA needs that challenge in the sign-in contract first.',
    },
    {
      id: 'AwsSolutions-COG3',
      reason:
        'Cognito threat protection needs the Plus feature plan; the pool runs on Essentials, which access-token customization requires. Enabling Plus is a per-deployment cost decision.',
    },
  ]);
  NagSuppressions.addResourceSuppressions(userPool, [
    {
      id: 'AwsSolutions-COG2',
      reason:
        'MFA is off: POST /auth/token (DESIGN §5) answers only the NEW_PASSWORD_REQUIRED challenge, not SOFTWARE_TOKEN_MFA, so an enrolled second factor would lock users out. MFA needs that challenge in the sign-in contract first.',
    },
    {
      id: 'AwsSolutions-COG3',
      reason:
        'Cognito threat protection (formerly advanced security) needs the Plus feature plan; the pool runs on Essentials, which is what access-token customization requires. Enabling Plus is a per-deployment cost decision.',
    },
  ]);
  NagSuppressions.addResourceSuppressions(tokenClaimsRole, [XRAY_WILDCARD], true);
  NagSuppressions.addResourceSuppressions(tokenClaims, [PINNED_RUNTIME], true);

  return { userPool, userPoolClient, identityEnvironment, operatorPool, operatorPoolClient, operatorIdentityEnvironment };
}
