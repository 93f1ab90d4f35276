/**
 * A usage ledger table for specs: dynalite behind the IAM-enforcing endpoint (which runs its
 * transactions), reached with an allow-all role, laid out as the ControlPlane stack's usage table.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { cellbookTable } from './cellbook-table.js';
import { ADMIN_ROLE, adminRole } from './cell-roles.fixture.js';
import { createDynamoDbEndpoint, startLocalDynamo } from './dynamodb-endpoint.js';
import { LocalIam, sdkCredentials } from './local-iam.js';

export interface LedgerFixture {
  doc: DynamoDBDocumentClient;
  /** A fresh, empty ledger table. */
  table(): Promise<string>;
  close(): Promise<void>;
}

export async function startLedgerFixture(): Promise<LedgerFixture> {
  const iam = new LocalIam();
  iam.createRole(adminRole);
  const dynamo = await startLocalDynamo();
  const server: Server = createServer(createDynamoDbEndpoint({ iam, upstream: dynamo.url, emulateTransactions: true }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: sdkCredentials(iam.issueRoleSession(ADMIN_ROLE, 'ledger-spec')),
  });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  let tables = 0;
  return {
    doc,
    async table() {
      tables += 1;
      const name = `usage-${tables}`;
      await client.send(new CreateTableCommand(cellbookTable(name)));
      return name;
    },
    async close() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dynamo.close();
    },
  };
}
