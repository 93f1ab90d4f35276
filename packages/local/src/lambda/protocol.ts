/**
 * Messages between the platform and a function worker (structured-clone safe). A worker is one
 * execution environment: the host sends it the next message only after the previous one's result.
 */
export interface InvokeMessage {
  type: 'invoke';
  id: number;
  functionName: string;
  event: unknown;
  requestId: string;
  deadline: number;
}

/** Loads modules without invoking them (what Lambda's provisioned concurrency does). */
export interface WarmMessage {
  type: 'warm';
  id: number;
  functionNames: string[];
}

export type HostMessage = InvokeMessage | WarmMessage;

/**
 * Asks the worker to write `marker` as a line of its standard output once what it is running has
 * finished: when the platform reads it, every line the worker wrote before has been read too.
 * Not answered with a result.
 */
export interface FlushLogsMessage {
  type: 'flush-logs';
  marker: string;
}

export type ResultMessage = { type: 'result'; id: number; ok: true; value: unknown } | { type: 'result'; id: number; ok: false; error: { name: string; message: string } };

export interface WorkerData {
  /** handler name → bundled module path */
  functions: Record<string, string>;
  /** Logical Lambda function name prefix, e.g. `cell-1-api`. */
  group: string;
}
