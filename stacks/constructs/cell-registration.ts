import { CustomResource, Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { NagSuppressions } from 'cdk-nag';
import { Function as SstFunction, type Stack } from 'sst/constructs';
import * as Keys from '@cellbook/core/keys/keys';
import type { CellRegistration } from '@cellbook/core/cells/cell';
import { functionRole, handlerProps, LOG_RETENTION } from './functions.js';
import { PINNED_RUNTIME, XRAY_WILDCARD } from './nag.js';

/** The handler module (under packages/functions/src) that writes the cell's catalog entry. */
export const CELL_REGISTRAR = 'deploy/register-cell';

export interface CellRegistrationProps {
  /** What the catalog records of the cell (core's `Cell.CellRegistration`). */
  registration: CellRegistration;
  /** The control plane's cell catalog. */
  cellsTable: dynamodb.ITable;
}

/**
 * The cell's entry in the control plane's cell catalog, kept by a custom resource: created or
 * updated with the stack, it registers the cell (placement can use it); deleted with the stack, it
 * drains it. CDK's provider framework (`Provider`) relays CloudFormation's events to the registrar
 * and answers CloudFormation itself — also when the registrar fails or times out (30 s), so a
 * broken registration fails the deployment in seconds instead of leaving it waiting.
 *
 * The registrar may update only its own cell's catalog entry; the framework's function may only
 * invoke (and look up) the registrar and write its own log group.
 */
export function addCellRegistration(stack: Stack, props: CellRegistrationProps) {
  const { cellId } = props.registration;
  const registrarRole = functionRole(stack, 'CellRegistrarRole', `Registers cell ${cellId} in the cell catalog`);
  registrarRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'OwnCatalogEntryOnly',
      actions: ['dynamodb:UpdateItem'],
      resources: [props.cellsTable.tableArn],
      conditions: {
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [Keys.cellRecordKey(cellId).PK] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    }),
  );
  const registrar = new SstFunction(
    stack,
    `CellRegistrar-${cellId}`,
    handlerProps(stack, 'CellRegistrar', {
      handler: CELL_REGISTRAR,
      role: registrarRole,
      environment: { CELLS_TABLE: props.cellsTable.tableName },
      timeout: 30,
    }),
  );

  // The framework would grant itself invoke on the registrar and all its versions (`<arn>:*`); its
  // role is handed over immutable, with exactly the registrar's unqualified ARN granted here.
  const frameworkRole = functionRole(stack, 'CellRegistrationProviderRole', `Relays CloudFormation's events for cell ${cellId}'s registration to its registrar`);
  frameworkRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'InvokeTheRegistrarOnly',
      // GetFunction: the framework waits for a registrar that is not active yet.
      actions: ['lambda:InvokeFunction', 'lambda:GetFunction'],
      resources: [registrar.functionArn],
    }),
  );
  const frameworkLogs = new logs.LogGroup(stack, 'CellRegistrationProviderLogs', { retention: LOG_RETENTION });
  frameworkLogs.grantWrite(frameworkRole);
  const provider = new Provider(stack, 'CellRegistrationProvider', {
    onEventHandler: registrar,
    frameworkOnEventRole: frameworkRole.withoutPolicyUpdates(),
    logGroup: frameworkLogs,
  });
  const resource = new CustomResource(stack, 'CellRegistration', {
    serviceToken: provider.serviceToken,
    resourceType: 'Custom::CellRegistration',
    serviceTimeout: Duration.minutes(5),
    properties: { Record: stack.toJsonString(props.registration) },
  });

  NagSuppressions.addResourceSuppressions(
    provider,
    [
      {
        id: 'AwsSolutions-L1',
        reason:
          "CDK's provider framework sets its own function's runtime (the newest Node.js this CDK version deploys in the region) and takes no override; the function only relays deploy-time events to the registrar, which runs the pinned runtime.",
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(registrar, [PINNED_RUNTIME], true);
  NagSuppressions.addResourceSuppressions(registrarRole, [XRAY_WILDCARD], true);
  return { registrar, registrarRole, provider, resource };
}
