import { DynamoDBClient, ListTablesCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import type { LocalPlatform } from '@cellbook/local/platform';
import { isTenantAuditPartition } from '@cellbook/core/keys/keys';

/**
 * Everything the platform has written that a refused request could have touched: every item of
 * every table (read through the platform's own DynamoDB endpoint, as the deployer would) and every
 * event published on the deployment's bus since `watch` started. Two states compare equal only if
 * nothing was written in between.
 */
export interface PlatformState {
  tables: Record<string, string[]>;
  events: number;
}

export interface StateWatcher {
  read(): Promise<PlatformState>;
  close(): void;
}

export function watchPlatformState(platform: LocalPlatform): StateWatcher {
  const db = new DynamoDBClient({
    region: platform.region,
    endpoint: platform.endpoints.dynamodb,
    credentials: sdkCredentials(platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin')),
  });
  let events = 0;
  const ruleName = `state-watcher-${Math.random().toString(36).slice(2)}`;
  platform.eventBus.service.putRule({
    name: ruleName,
    eventBusName: platform.eventBus.name,
    eventPattern: { source: [{ prefix: 'cellbook' }] },
    targets: [
      {
        id: 'count',
        deliver: async () => {
          events += 1;
        },
      },
    ],
  });

  async function scanAll(table: string): Promise<string[]> {
    const items: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await db.send(new ScanCommand({ TableName: table, ...(start ? { ExclusiveStartKey: start } : {}) }));
      for (const item of page.Items ?? []) {
        // A tenant's audit trail records every request of a tenant with the audit log — a refused
        // one too, as the attempt it was — like the usage ledger below: state about the requests,
        // not state they changed.
        if (item.PK?.S !== undefined && isTenantAuditPartition(item.PK.S)) continue;
        items.push(JSON.stringify(Object.entries(item).sort(([a], [b]) => a.localeCompare(b))));
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return items.sort();
  }

  return {
    async read() {
      await platform.eventBus.service.drain();
      const { TableNames = [] } = await db.send(new ListTablesCommand({}));
      const tables: Record<string, string[]> = {};
      // The usage ledger records every request a function answered — a refused one too, as its
      // tenant's API call — and does so after the answer (log delivery): it is state about the
      // requests, not state they changed.
      const ledger = platform.controlFunctionEnv('control/usage-ingest').USAGE_TABLE;
      for (const table of [...TableNames].sort()) if (table !== ledger) tables[table] = await scanAll(table);
      return { tables, events };
    },
    close() {
      platform.eventBus.service.removeRule(ruleName, platform.eventBus.name);
      db.destroy();
    },
  };
}
