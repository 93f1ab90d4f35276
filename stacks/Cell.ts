import { Tags } from 'aws-cdk-lib';
import { use, type StackContext } from 'sst/constructs';
import { TIER_NAMES, type TierName } from '@cellbook/core/tenancy/tiers';
import type { CellDefinition, CellRegistration } from '@cellbook/core/cells/cell';
import { CELL_ROUTES } from '@cellbook/functions/routes';
import { ControlPlane } from './ControlPlane.js';
import { cellApi } from './constructs/cell-api.js';
import { cellBucket } from './constructs/cell-bucket.js';
import { cellControlGrants } from './constructs/cell-control-grants.js';
import { suppressCellFindings } from './constructs/cell-findings.js';
import { cellIdentities } from './constructs/cell-identities.js';
import { cellMonitoring } from './constructs/cell-monitoring.js';
import { cellSlo } from './constructs/cell-slo.js';
import { addCellRegistration } from './constructs/cell-registration.js';
import { cellTable } from './constructs/cell-table.js';
import { cellUsageDelivery } from './constructs/cell-usage-delivery.js';
import { cellUsagePlans } from './constructs/cell-usage-plans.js';
import { suppressSstInternals } from './constructs/nag.js';
import { resourceName } from './constructs/stage.js';

/**
 * One data-plane cell (DESIGN §1): a complete, independent copy of the product — its own table,
 * REST API with usage plans, functions, tenant access role, alarms and dashboard. The app
 * instantiates one per entry of core's cell catalog. Cells share nothing with each other; from the
 * control plane they use the user directory (tenant admins invite users) and the registry (read by
 * the authorizer only).
 */
export function Cell(definition: CellDefinition) {
  const { cellId } = definition;

  function CellStack({ app, stack }: StackContext) {
    const control = use(ControlPlane);
    Tags.of(stack).add('app', app.name);
    Tags.of(stack).add('cell', cellId);
    Tags.of(stack).add('stage', app.stage);
    suppressSstInternals(stack);

    const table = cellTable(stack, app, cellId);
    const evidenceBucket = cellBucket(stack, app, cellId);
    const { apiRole, authorizerRole, publicRouteRole, tenantAccessRole } = cellIdentities(stack, {
      cellId,
      table,
      bucket: evidenceBucket,
      tenantsTable: control.tenantsTable,
      controlRestApi: control.api.cdk.restApi,
      controlRoles: control.controlRoles,
    });
    const cellEnvironment = {
      ...control.identityEnvironment,
      CELL_ID: cellId,
      TABLE_NAME: table.tableName,
      // Named only: no function role holds a permission on it; tenant sessions reach it (DESIGN §11).
      EVIDENCE_BUCKET: evidenceBucket.bucketName,
      TENANTS_TABLE: control.tenantsTable.tableName,
    };
    const { authorizer, api, restApi, publicRoutes } = cellApi(stack, app, {
      cellId,
      cellEnvironment,
      authorizerRole,
      apiRole,
      publicRouteRole,
      tenantAccessRole,
      identityBrokerUrl: control.api.url,
    });
    const usagePlans = cellUsagePlans(app, cellId, restApi);
    const grantPolicies = cellControlGrants(stack, { cellId, table, tenantAccessRole, restApi, usagePlans, controlRoles: control.controlRoles });

    const registration: CellRegistration = {
      ...definition,
      status: 'active',
      tableName: table.tableName,
      apiId: restApi.restApiId,
      stage: restApi.deploymentStage.stageName,
      tenantRoleArn: tenantAccessRole.roleArn,
      evidenceBucket: evidenceBucket.bucketName,
      usagePlans: Object.fromEntries(TIER_NAMES.map((tier) => [tier, usagePlans[tier].usagePlanId])) as Record<TierName, string>,
    };
    addCellRegistration(stack, { registration, cellsTable: control.cellsTable });

    const monitoring = cellMonitoring(stack, {
      namePrefix: resourceName(app, cellId),
      stage: restApi.deploymentStage,
      // biome-ignore lint/style/noNonNullAssertion: the API above was built with a function for every CELL_ROUTES route.
      functions: [authorizer, ...CELL_ROUTES.map((route) => api.getFunction(`${route.method} ${route.path}`)!)],
      table,
    });
    const slo = cellSlo(stack, {
      namePrefix: resourceName(app, cellId),
      cellId,
      placement: definition.placement,
      // biome-ignore lint/style/noNonNullAssertion: the API is built with an access log (restApiSettings).
      accessLogGroup: api.cdk.accessLogGroup!,
      dashboard: monitoring.dashboard,
    });

    cellUsageDelivery(stack, {
      cellId,
      // biome-ignore lint/style/noNonNullAssertion: the API above was built with a function for every CELL_ROUTES route.
      tenantFunctions: CELL_ROUTES.filter((route) => route.auth !== 'none').map((route) => api.getFunction(`${route.method} ${route.path}`)!),
      // biome-ignore lint/style/noNonNullAssertion: the API above is built with an access log (restApiSettings).
      accessLog: api.cdk.accessLogGroup!,
      subscribers: control.logSubscribers,
    });

    stack.addOutputs({
      ApiUrl: api.url,
      TableName: table.tableName,
      TenantAccessRoleArn: tenantAccessRole.roleArn,
      HealthAlarm: monitoring.health.alarmName,
    });

    suppressCellFindings(stack, {
      api,
      restApi,
      publicRoutes,
      authorizer,
      functionRoles: [apiRole, authorizerRole, publicRouteRole],
      table,
      bucket: evidenceBucket,
      tenantAccessRole,
      usagePlans,
      grantPolicies,
    });

    return { definition, api, restApi, table, evidenceBucket, tenantAccessRole, usagePlans, monitoring, slo };
  }

  return CellStack;
}

export type CellStack = ReturnType<typeof Cell>;
