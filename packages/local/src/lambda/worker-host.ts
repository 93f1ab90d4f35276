/**
 * Runs inside a worker thread: the local stand-in for a Lambda execution environment. Each worker
 * has its own `process.env` (role credentials, endpoints, table names) exactly as a Lambda function
 * would, loads a handler module on first use (a cold start) and keeps it warm afterwards.
 *
 * Like a Lambda environment it runs one invocation at a time: handlers keep per-request state at
 * module level (Powertools' appended log keys, metric dimensions). The host never sends a second
 * message before the first is answered; should one arrive anyway, it waits its turn here.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { Context } from 'aws-lambda';
import type { FlushLogsMessage, HostMessage, InvokeMessage, ResultMessage, WorkerData } from './protocol.js';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const { functions, group } = workerData as WorkerData;
const loaded = new Map<string, Promise<Handler>>();

function load(name: string): Promise<Handler> {
  let handler = loaded.get(name);
  if (!handler) {
    const path = functions[name];
    if (!path) return Promise.reject(new Error(`function ${name} is not deployed in ${group}`));
    handler = import(path).then((module: { handler?: unknown }) => {
      if (typeof module.handler !== 'function') throw new Error(`${name} does not export a handler`);
      return module.handler as Handler;
    });
    loaded.set(name, handler);
  }
  return handler;
}

function lambdaContext(message: InvokeMessage): Context {
  const functionName = `${group}-${message.functionName.replace(/\//g, '-')}`;
  const unsupported = () => {
    throw new Error('callback-style completion is not supported; return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: message.requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    // One log stream per execution environment, as in CloudWatch.
    logStreamName: `local/${group}/${threadId}`,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

async function handle(message: HostMessage): Promise<ResultMessage> {
  try {
    if (message.type === 'warm') {
      await Promise.all(message.functionNames.map(load));
      return { type: 'result', id: message.id, ok: true, value: null };
    }
    const handler = await load(message.functionName);
    const value = await handler(message.event, lambdaContext(message));
    return { type: 'result', id: message.id, ok: true, value };
  } catch (error) {
    return failure(message.id, error);
  }
}

function failure(id: number, error: unknown): ResultMessage {
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  return { type: 'result', id, ok: false, error: { name, message } };
}

let turn: Promise<void> = Promise.resolve();
parentPort?.on('message', (message: HostMessage | FlushLogsMessage) => {
  if (message.type === 'flush-logs') {
    turn = turn.then(() => new Promise<void>((resolve) => void process.stdout.write(`${message.marker}\n`, () => resolve())));
    return;
  }
  turn = turn.then(async () => {
    const reply = await handle(message);
    try {
      parentPort?.postMessage(reply);
    } catch (error) {
      // A result that cannot be cloned (functions, sockets…) fails the invocation, not the environment.
      parentPort?.postMessage(failure(message.id, error));
    }
  });
});
