/**
 * Vitest global setup: builds the web app the browser suite opens (`packages/web/dist`, about a
 * second), and gives every suite a registry where each DynamoDB Local JVM it starts
 * (`CELLBOOK_DYNAMODB=dynamodb-local`) leaves its pid, and kills whatever is still registered when
 * the run ends — a suite that crashed, timed out or was killed leaves no JVM behind.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killRegisteredDynamoDbLocals, REGISTRY_ENV } from '@cellbook/local/aws/dynamodb-local';

export default function setup(): () => void {
  // The suite tests the app as it is in the working tree, never a build left from earlier.
  // NODE_ENV is `test` inside vitest, and Vite keeps a NODE_ENV it finds: React's development build
  // would be tested instead of the one users get.
  execFileSync('npm', ['run', 'build:web'], { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  const registry = mkdtempSync(join(tmpdir(), 'cellbook-dynamodb-local-jvms-'));
  // Test processes are forked after global setup and inherit this.
  process.env[REGISTRY_ENV] = registry;
  return () => {
    const killed = killRegisteredDynamoDbLocals(registry);
    if (killed > 0) console.warn(`global teardown: stopped ${killed} DynamoDB Local JVM(s) a suite left running`);
    rmSync(registry, { recursive: true, force: true });
  };
}
