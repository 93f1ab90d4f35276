/**
 * A process that starts DynamoDB Local and then ends the way a test suite can: `crash` (an
 * uncaught error), or waits to be killed (`wait`). dynamodb-local.test.ts checks no JVM outlives it.
 */
import { startDynamoDbLocal } from './dynamodb-local.js';

const storage = await startDynamoDbLocal();
console.log(`READY ${storage.url}`);
if (process.argv[2] === 'crash') {
  setTimeout(() => {
    throw new Error('the suite crashed');
  }, 10);
} else {
  setInterval(() => undefined, 1_000);
}
