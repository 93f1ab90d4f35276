/**
 * Runs inside a worker thread: the local stand-in for a Lambda execution environment. Each worker
 * has its own `process.env` (role credentials, endpoints, table names) exactly as a Lambda function
 * would, loads a handler module on first use (a cold start) and keeps it warm afterwards.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Context } from 'aws-lambda';
import type { HostMessage, InvokeMessage, ResultMessage, WorkerData } from './protocol.js';

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
    logStreamName: `local/${group}`,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

parentPort?.on('message', (message: HostMessage) => {
  void (async () => {
    let reply: ResultMessage;
    try {
      if (message.type === 'warm') {
        await Promise.all(message.functionNames.map(load));
        reply = { type: 'result', id: message.id, ok: true, value: null };
      } else {
        const handler = await load(message.functionName);
        const value = await handler(message.event, lambdaContext(message));
        reply = { type: 'result', id: message.id, ok: true, value };
      }
    } catch (error) {
      const { name, message: text } = error instanceof Error ? error : new Error(String(error));
      reply = { type: 'result', id: message.id, ok: false, error: { name, message: text } };
    }
    parentPort?.postMessage(reply);
  })();
});
