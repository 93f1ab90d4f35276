import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { NagSuppressions } from 'cdk-nag';
import { StaticSite, use, type StackContext } from 'sst/constructs';
import { API_CORS, evidenceBucketOrigins, WEB_APP_PATH, webAppSecurityHeaders } from '@cellbook/core/access/browser-cors';
import { CONTROL_PLANE_PREFIXES } from '@cellbook/functions/routes';
import type { CellStack } from './Cell.js';
import { ControlPlane } from './ControlPlane.js';
import { evidenceBucketCors, suppressEvidenceCorsProvider } from './constructs/evidence-cors.js';
import { suppressSstInternals } from './constructs/nag.js';
import { routerUrlParameterName } from './constructs/router-url.js';
import { routingFunctionCode } from './constructs/routing-function.js';
import { browserOrigins, isDevStage, resourceName } from './constructs/stage.js';

/**
 * Where the web app's build is (`npm run build:web` → packages/web/dist). CDK context
 * `cellbook:webDist` points elsewhere (the infra suite synthesizes with a small prebuilt fixture,
 * so a synth never runs a Vite build).
 */
export const WEB_DIST_CONTEXT = 'cellbook:webDist';
const DEFAULT_WEB_DIST = 'packages/web/dist';

/**
 * The router (DESIGN §1, §12): one CloudFront distribution in front of every API and the web app.
 * `/auth/*` and `/admin/*` go to the control plane; `/app/*` to the web app's bucket; everything
 * else to the caller's cell, chosen by a CloudFront Function from the routing map the control plane
 * owns. The same function answers CORS preflights on every path and sends `/` to `/app/`. No
 * business logic, no caching of API answers: every API request reaches an API Gateway stage, whose
 * authorizer decides.
 */
export function Router(cells: readonly CellStack[]) {
  return function Router({ app, stack }: StackContext) {
    const control = use(ControlPlane);
    const cellApis = cells.map((cell) => use(cell));
    const defaultCell = cellApis[0];
    if (!defaultCell) throw new Error('Router: the cell catalog is empty');
    Tags.of(stack).add('app', app.name);
    Tags.of(stack).add('stage', app.stage);
    Tags.of(stack).add('plane', 'router');
    suppressSstInternals(stack);

    const allowedOrigins = browserOrigins(app);
    const routing = new cloudfront.Function(stack, 'RoutingFunction', {
      functionName: resourceName(app, 'router'),
      comment: 'CORS preflights; / → /app/; /app/* → the web app object; tenant → cell (routing map) → origin',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      keyValueStore: control.routingMap,
      code: cloudfront.FunctionCode.fromInline(
        routingFunctionCode({
          routingMapId: control.routingMap.keyValueStoreId,
          cellOrigins: Object.fromEntries(
            cellApis.map(({ definition, restApi }) => [definition.cellId, `${restApi.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}`]),
          ),
          allowedOrigins,
        }),
      ),
    });

    // CORS on actual API responses (the function answers preflights): the stage's origins only,
    // replacing whatever an origin might say. A stage that lists none gets no policy at all: the web
    // app is same-origin, and a browser elsewhere then gets no CORS header from anything.
    const apiCors =
      allowedOrigins.length > 0
        ? new cloudfront.ResponseHeadersPolicy(stack, 'ApiCors', {
            responseHeadersPolicyName: resourceName(app, 'router-cors'),
            comment: 'CORS for the stage’s browser origins (core browser-cors.ts)',
            corsBehavior: {
              accessControlAllowCredentials: false,
              accessControlAllowOrigins: [...allowedOrigins],
              accessControlAllowMethods: [...API_CORS.allowedMethods],
              accessControlAllowHeaders: [...API_CORS.allowedHeaders],
              accessControlExposeHeaders: [...API_CORS.exposedHeaders],
              accessControlMaxAge: Duration.seconds(API_CORS.maxAgeSeconds),
              originOverride: true,
            },
          })
        : undefined;

    // APIs are not cacheable; forward everything the API needs (Authorization included — with
    // caching disabled the all-viewer policy may carry it) except Host, which must be the origin's.
    // The routing function runs on every API behaviour: it answers preflights there too.
    const apiBehavior = {
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      compress: true,
      functionAssociations: [{ function: routing, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      ...(apiCors ? { responseHeadersPolicy: apiCors } : {}),
    } satisfies Partial<cloudfront.BehaviorOptions>;

    // The web app: files in a private bucket, read by this distribution only (Origin Access
    // Control). Its content is a build artifact, so it is removed with a throwaway stage.
    const webBucket = new s3.Bucket(stack, 'WebAppBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: isDevStage(app) ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    // The app uploads and downloads at presigned URLs, which are path-style (core's tenantS3Config):
    // `https://s3.<region>.<suffix>/<bucket>/<key>`, so the origin to allow is the regional S3
    // endpoint, once per region the cells are in (every bucket of a region shares it).
    const s3Origins = [...new Set(cellApis.map(({ definition }) => `https://s3.${definition.region}.${stack.urlSuffix}`))];
    const webHeaders = webAppSecurityHeaders(s3Origins);
    const webSecurity = new cloudfront.ResponseHeadersPolicy(stack, 'WebAppHeaders', {
      responseHeadersPolicyName: resourceName(app, 'web-app'),
      comment: 'The web app’s security headers (core browser-cors.ts webAppSecurityHeaders)',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: webHeaders['content-security-policy'], override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
    });
    const webBehavior = {
      origin: origins.S3BucketOrigin.withOriginAccessControl(webBucket),
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
      cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      compress: true,
      // The same function: client routes → /index.html, files → the object at the bucket's root.
      functionAssociations: [{ function: routing, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      responseHeadersPolicy: webSecurity,
    } satisfies cloudfront.BehaviorOptions;
    const apiOrigin = (restApi: typeof defaultCell.restApi) => new origins.RestApiOrigin(restApi, { readTimeout: Duration.seconds(30), connectionAttempts: 3 });
    const controlOrigin = apiOrigin(control.api.cdk.restApi);

    const distribution = new cloudfront.Distribution(stack, 'Distribution', {
      comment: `${resourceName(app, 'router')}: tenant → cell`,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        ...apiBehavior,
        // Tenants the routing map does not know land on the first catalogued cell (the canary),
        // whose authorizer refuses tenants placed elsewhere — as in local mode.
        origin: apiOrigin(defaultCell.restApi),
      },
      additionalBehaviors: {
        ...Object.fromEntries(CONTROL_PLANE_PREFIXES.map((prefix) => [`${prefix}*`, { ...apiBehavior, origin: controlOrigin }])),
        [`${WEB_APP_PATH}*`]: webBehavior,
      },
    });

    // SST's StaticSite uploads the build into the bucket above and invalidates this distribution;
    // given both, it creates neither a bucket nor a distribution of its own. Vite's hashed assets
    // are kept for a year, everything else (index.html) revalidated.
    const webDist = resolve(String(stack.node.tryGetContext(WEB_DIST_CONTEXT) ?? DEFAULT_WEB_DIST));
    if (stack.isActive && app.mode !== 'dev' && !existsSync(join(webDist, 'index.html'))) {
      throw new Error(`Router: the web app is not built (no ${join(webDist, 'index.html')}). Run npm run build:web before deploying.`);
    }
    const webApp = new StaticSite(stack, 'WebApp', {
      path: webDist,
      assets: { fileOptions: [{ files: 'assets/**', cacheControl: 'public,max-age=31536000,immutable' }] },
      cdk: { bucket: webBucket, distribution },
    });

    const url = `https://${distribution.distributionDomainName}`;

    // The web app's uploads are cross-origin to S3: every cell bucket allows this distribution's
    // origin and the stage's listed ones. The router owns each bucket's CORS rule (the cells are
    // deployed first, before this origin exists; see constructs/evidence-cors.ts).
    const evidenceCors = evidenceBucketCors(
      stack,
      cellApis.map(({ definition, evidenceBucket }) => ({ cellId: definition.cellId, bucket: evidenceBucket, region: definition.region })),
      evidenceBucketOrigins([url], allowedOrigins),
    );
    suppressEvidenceCorsProvider(stack);
    // The control plane checks tenants' routes through the router, and learns its address here: it
    // is deployed before the router exists (see constructs/router-url.ts).
    const urlParameter = new ssm.StringParameter(stack, 'RouterUrlParameter', {
      parameterName: routerUrlParameterName(app),
      description: `${resourceName(app, 'router')}: the router's base URL, read by the control plane's routing probe`,
      stringValue: url,
      tier: ssm.ParameterTier.STANDARD,
    });

    stack.addOutputs({ Url: url, WebAppUrl: `${url}${WEB_APP_PATH}` });

    NagSuppressions.addResourceSuppressions(distribution, [
      {
        id: 'AwsSolutions-CFR1',
        reason: 'A SaaS product sold worldwide: no geo restriction at the edge. Tenants that need one get it per tenant, not per distribution.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'No WAF web ACL in the reference: it is an account-level choice (AWS Firewall Manager) and a cost. Abuse is bounded per tenant by API Gateway usage plans behind the router.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'Every request the router forwards is logged by the API Gateway stage it reaches (JSON access log with tenant, cell and API key id); the router holds no logic of its own to audit.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The distribution uses the default *.cloudfront.net certificate, for which CloudFront fixes the minimum TLS policy. A production deployment adds a custom domain with an ACM certificate and TLSv1.2_2021.',
      },
    ]);

    NagSuppressions.addResourceSuppressions(webBucket, [
      {
        id: 'AwsSolutions-S1',
        reason:
          'The web app’s public build (the same files every visitor downloads), read only by this distribution through Origin Access Control; nothing in it is tenant data, so its reads need no access log.',
      },
    ]);

    // Only when the stack is deployed does the StaticSite add its uploader (SST's deploy-time
    // handler), and only after this function returns (SST's deferred tasks): the suppression is the
    // stack's, narrowed to exactly those two resources. The uploader's policy writes every object of
    // the web app's bucket and reads the CDK assets.
    const webBucketLogicalId = stack.resolve(stack.getLogicalId(webBucket.node.defaultChild as s3.CfnBucket)) as string;
    NagSuppressions.addStackSuppressions(stack, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'SST’s StaticSite uploader replaces the whole build on each deploy: it writes and deletes any object of the web app’s bucket (and only that bucket) and reads the build’s zip from the CDK assets bucket.',
        appliesTo: [`Resource::<${webBucketLogicalId}.Arn>/*`, { regex: '/^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-[0-9]{12}-[a-z0-9-]+\\/\\*$/' }],
      },
    ]);

    return { distribution, routing, urlParameter, webBucket, webApp, apiCors, webSecurity, evidenceCors };
  };
}
