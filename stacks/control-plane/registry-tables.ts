import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Table, type App, type Stack } from 'sst/constructs';
import { isDevStage } from '../constructs/stage.js';

/**
 * The control plane's tables: the tenant registry (records, audit trails, the GSI1 listing), the
 * cell catalog, and the usage ledger (DESIGN §10: aggregates per tenant, GSI1 by period, deduplication
 * items that expire by TTL). Encrypted, and protected and retained outside throwaway stages.
 */
export function registryTables(stack: Stack, app: App) {
  const dev = isDevStage(app);
  const tableSettings = {
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    deletionProtection: !dev,
    removalPolicy: dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  };
  const tenants = new Table(stack, 'tenants', {
    fields: { PK: 'string', SK: 'string', GSI1PK: 'string', GSI1SK: 'string' },
    primaryIndex: { partitionKey: 'PK', sortKey: 'SK' },
    globalIndexes: { GSI1: { partitionKey: 'GSI1PK', sortKey: 'GSI1SK', projection: 'all' } },
    cdk: { table: tableSettings },
  });
  const cells = new Table(stack, 'cells', {
    fields: { PK: 'string', SK: 'string' },
    primaryIndex: { partitionKey: 'PK', sortKey: 'SK' },
    cdk: { table: tableSettings },
  });
  const usage = new Table(stack, 'usage', {
    fields: { PK: 'string', SK: 'string', GSI1PK: 'string', GSI1SK: 'string' },
    primaryIndex: { partitionKey: 'PK', sortKey: 'SK' },
    globalIndexes: { GSI1: { partitionKey: 'GSI1PK', sortKey: 'GSI1SK', projection: 'all' } },
    timeToLiveAttribute: 'expiresAt',
    cdk: { table: tableSettings },
  });
  return { tenantsTable: tenants.cdk.table, cellsTable: cells.cdk.table, usageTable: usage.cdk.table };
}
