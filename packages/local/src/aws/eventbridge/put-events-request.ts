/** A PutEvents request as EventBridge reads it: its limits, its entries, and the errors that refuse it whole. */
import { JsonProtocolError, type JsonObject } from '../json-protocol.js';

export class EventBridgeError extends JsonProtocolError {}

const MAX_ENTRIES = 10;
/** "The total entry size must be less than 256KB" (PutEvents quota). */
const MAX_REQUEST_ENTRY_BYTES = 256 * 1024;
/** The documented size of a `Time` parameter, whatever its value. */
const TIME_PARAMETER_BYTES = 14;

export interface EntryInput {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  /** Epoch seconds, as JSON 1.1 serializes timestamps. */
  Time?: number;
}

/** Request-level validation: everything that makes AWS refuse the request rather than an entry. */
export function readEntries(input: JsonObject): EntryInput[] {
  const raw = input.Entries;
  if (raw === undefined || raw === null) {
    throw validationError("1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
  }
  if (!Array.isArray(raw)) throw serializationError();
  if (raw.length < 1) {
    throw validationError("1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1");
  }
  if (raw.length > MAX_ENTRIES) {
    throw validationError(
      "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10",
    );
  }
  const entries = raw.map(readEntry);
  if (entries.reduce((total, entry) => total + entrySize(entry), 0) > MAX_REQUEST_ENTRY_BYTES) {
    throw validationError('Total size of the entries in the request is over the limit.');
  }
  return entries;
}

function readEntry(raw: unknown): EntryInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw serializationError();
  const input = raw as JsonObject;
  const entry: EntryInput = {};
  // An empty string is what an SDK sends for a member set to ''; the service treats it as absent.
  for (const member of ['Source', 'DetailType', 'Detail', 'EventBusName'] as const) {
    const value = input[member];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw serializationError();
    if (value !== '') entry[member] = value;
  }
  const resources = input.Resources;
  if (resources !== undefined && resources !== null) {
    if (!Array.isArray(resources) || resources.some((resource) => typeof resource !== 'string')) throw serializationError();
    entry.Resources = resources as string[];
  }
  const time = input.Time;
  if (time !== undefined && time !== null) {
    if (typeof time !== 'number' || !Number.isFinite(time)) throw serializationError();
    entry.Time = time;
  }
  return entry;
}

/** The documented PutEventsRequestEntry size (eb-putevent-size). */
function entrySize(entry: EntryInput): number {
  let size = entry.Time === undefined ? 0 : TIME_PARAMETER_BYTES;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text !== undefined) size += Buffer.byteLength(text, 'utf8');
  }
  return size;
}

function validationError(message: string): EventBridgeError {
  return new EventBridgeError('ValidationException', message);
}

export function serializationError(): EventBridgeError {
  return new EventBridgeError('SerializationException', 'Start of structure or map found where not expected.');
}
