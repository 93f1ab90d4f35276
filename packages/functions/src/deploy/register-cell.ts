import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Cell } from '@cellbook/core';
import { logger } from '../observability.js';

/**
 * The custom resource every Cell stack carries: it records the deployed cell in the control plane's
 * catalog through core's `Cell.register`, so placement can use it (locally the platform boot does
 * the same). Deleting the stack drains the cell — no new tenant is placed there — instead of
 * forgetting a cell that may still hold tenants.
 */
/** The stack passes the record as one JSON property: CloudFormation would turn numbers into strings. */
export interface RegistrationProperties {
  ServiceToken: string;
  Record: string;
}

const UNREGISTERED = 'unregistered';

export async function handler(event: CloudFormationCustomResourceEvent<RegistrationProperties>): Promise<void> {
  logger.appendKeys({ scope: 'system', request_type: event.RequestType, logical_resource_id: event.LogicalResourceId });
  // A Delete that follows a failed Create has nothing to undo.
  if (event.RequestType === 'Delete' && event.PhysicalResourceId.startsWith(`${UNREGISTERED}/`)) {
    await respond(event, 'SUCCESS', event.PhysicalResourceId);
    return;
  }
  let physicalResourceId = event.RequestType === 'Create' ? `${UNREGISTERED}/${event.RequestId}` : event.PhysicalResourceId;
  try {
    const record = JSON.parse(event.ResourceProperties.Record) as Cell.CellRegistration;
    physicalResourceId = `cell/${record.cellId}`;
    logger.appendKeys({ cell_id: record.cellId });
    await Cell.register(event.RequestType === 'Delete' ? { ...record, status: 'draining' } : record);
    logger.info('cell registered', { status: event.RequestType === 'Delete' ? 'draining' : record.status });
    await respond(event, 'SUCCESS', physicalResourceId);
  } catch (error) {
    logger.error('cell registration failed', error as Error);
    await respond(event, 'FAILED', physicalResourceId, error instanceof Error ? error.message : 'registration failed');
  }
}

/** CloudFormation waits for this PUT to the pre-signed URL, not for the function's return value. */
async function respond(
  event: CloudFormationCustomResourceEvent<RegistrationProperties>,
  status: 'SUCCESS' | 'FAILED',
  physicalResourceId: string,
  reason?: string,
): Promise<void> {
  const body = JSON.stringify({
    Status: status,
    Reason: (reason ?? 'See the registrar function logs').slice(0, 1_000),
    PhysicalResourceId: physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  // The URL is signed without a content type; sending one would break the signature.
  const response = await fetch(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '' } });
  if (!response.ok) throw new Error(`CloudFormation rejected the custom resource response (${response.status})`);
}
