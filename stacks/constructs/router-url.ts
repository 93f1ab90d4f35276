import { ArnFormat, type Stack } from 'aws-cdk-lib';
import type { App } from 'sst/constructs';

/**
 * Where the Router stack publishes the router's URL (an SSM String parameter), for the control
 * functions that check a tenant's route through the router (core routing.ts reads the parameter
 * named by `ROUTER_URL_PARAMETER`). The router is created after the control plane — it routes to
 * the control plane's API — so the address cannot be handed over as an environment variable; both
 * stacks derive the same name from the app and the stage instead.
 */
export function routerUrlParameterName(app: App): string {
  return `/${app.name}/${app.stage}/router-url`;
}

/** The parameter's ARN, for `ssm:GetParameter` on exactly that parameter. */
export function routerUrlParameterArn(stack: Stack, app: App): string {
  return stack.formatArn({
    service: 'ssm',
    resource: 'parameter',
    // The name's leading slash is the separator after `parameter` in the ARN.
    resourceName: routerUrlParameterName(app).replace(/^\//, ''),
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}
