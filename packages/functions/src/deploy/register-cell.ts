/**
 * The `onEvent` handler behind the custom resource every Cell stack carries, run by CDK's provider
 * framework (`Provider`, aws-cdk-lib/custom-resources): it records the deployed cell in the control
 * plane's catalog through core's `Cell.register`, so placement can use it (locally the platform boot
 * does the same). Deleting the stack drains the cell — no new tenant is placed there — instead of
 * forgetting a cell that may still hold tenants. The framework answers CloudFormation: what this
 * returns is a success, what it throws (or a timeout) a failure with the error's message.
 */
import type { CdkCustomResourceEvent, CdkCustomResourceResponse } from 'aws-lambda';
import * as Cell from '@cellbook/core/cells/cell';
import { logger } from '../observability.js';

/** The stack passes the record as one JSON property: CloudFormation would turn numbers into strings. */
export interface RegistrationProperties {
  ServiceToken: string;
  Record: string;
}

/** The physical id of a registration: the cell it registered. */
const REGISTERED = 'cell/';

export async function handler(event: CdkCustomResourceEvent<RegistrationProperties>): Promise<CdkCustomResourceResponse> {
  logger.appendKeys({ scope: 'system', request_type: event.RequestType, logical_resource_id: event.LogicalResourceId });
  // A Delete that follows a failed Create has nothing to undo (the framework's marker id, which the
  // framework itself answers; never a registration).
  if (event.RequestType === 'Delete' && !event.PhysicalResourceId.startsWith(REGISTERED)) {
    logger.info('nothing registered: nothing to drain');
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const record = JSON.parse(event.ResourceProperties.Record) as Cell.CellRegistration;
  logger.appendKeys({ cell_id: record.cellId });
  const status = event.RequestType === 'Delete' ? 'draining' : record.status;
  await Cell.register({ ...record, status });
  logger.info('cell registered', { status });
  return { PhysicalResourceId: `${REGISTERED}${record.cellId}` };
}
