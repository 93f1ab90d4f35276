import { Duration, Tags } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { NagSuppressions } from 'cdk-nag';
import { use, type StackContext } from 'sst/constructs';
import { CONTROL_PLANE_PREFIXES } from '@cellbook/functions/routes';
import type { CellStack } from './Cell.js';
import { ControlPlane } from './ControlPlane.js';
import { suppressSstInternals } from './constructs/nag.js';
import { routerUrlParameterName } from './constructs/router-url.js';
import { routingFunctionCode } from './constructs/routing-function.js';
import { resourceName } from './constructs/stage.js';

/**
 * The router (DESIGN §1): one CloudFront distribution in front of every API. `/auth/*` and
 * `/admin/*` go to the control plane; everything else to the caller's cell, chosen by a CloudFront
 * Function from the routing map the control plane owns. No business logic, no caching: every
 * request reaches an API Gateway stage, whose authorizer decides.
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

    const routing = new cloudfront.Function(stack, 'RoutingFunction', {
      functionName: resourceName(app, 'router'),
      comment: 'tenant → cell (routing map) → origin',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      keyValueStore: control.routingMap,
      code: cloudfront.FunctionCode.fromInline(
        routingFunctionCode({
          routingMapId: control.routingMap.keyValueStoreId,
          cellOrigins: Object.fromEntries(
            cellApis.map(({ definition, restApi }) => [definition.cellId, `${restApi.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}`]),
          ),
        }),
      ),
    });

    // APIs are not cacheable; forward everything the API needs (Authorization included — with
    // caching disabled the all-viewer policy may carry it) except Host, which must be the origin's.
    const apiBehavior = {
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      compress: true,
    } satisfies Partial<cloudfront.BehaviorOptions>;
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
        functionAssociations: [{ function: routing, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: Object.fromEntries(CONTROL_PLANE_PREFIXES.map((prefix) => [`${prefix}*`, { ...apiBehavior, origin: controlOrigin }])),
    });

    const url = `https://${distribution.distributionDomainName}`;
    // The control plane checks tenants' routes through the router, and learns its address here: it
    // is deployed before the router exists (see constructs/router-url.ts).
    const urlParameter = new ssm.StringParameter(stack, 'RouterUrlParameter', {
      parameterName: routerUrlParameterName(app),
      description: `${resourceName(app, 'router')}: the router's base URL, read by the control plane's routing probe`,
      stringValue: url,
      tier: ssm.ParameterTier.STANDARD,
    });

    stack.addOutputs({ Url: url });

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

    return { distribution, routing, urlParameter };
  };
}
