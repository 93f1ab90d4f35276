import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Table, type App, type Stack } from 'sst/constructs';
import { isDevStage } from './stage.js';

/**
 * The cell's table (DESIGN §3): every key leads with the tenant, and GSI1 serves the listings.
 * Encrypted, and protected and retained outside throwaway stages.
 */
export function cellTable(stack: Stack, app: App, cellId: string): dynamodb.ITable {
  const dev = isDevStage(app);
  const data = new Table(stack, cellId, {
    fields: { PK: 'string', SK: 'string', GSI1PK: 'string', GSI1SK: 'string' },
    primaryIndex: { partitionKey: 'PK', sortKey: 'SK' },
    globalIndexes: { GSI1: { partitionKey: 'GSI1PK', sortKey: 'GSI1SK', projection: 'all' } },
    // The tenant audit trail's retention (core tenant-audit/trail.ts: AUDIT_RETENTION_DAYS).
    timeToLiveAttribute: 'expiresAt',
    cdk: {
      table: {
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        deletionProtection: !dev,
        removalPolicy: dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      },
    },
  });
  return data.cdk.table;
}
