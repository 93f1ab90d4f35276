/** Cognito's side of the JSON 1.1 protocol: its errors, its timestamps, and how request members are read and refused. */
import { JsonProtocolError, type JsonObject } from '../json-protocol.js';

export class CognitoError extends JsonProtocolError {}

export function epochSeconds(ms: number): number {
  return ms / 1000;
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

export function missing(member: string): CognitoError {
  return new CognitoError(
    'InvalidParameterException',
    `1 validation error detected: Value null at '${lowerFirst(member)}' failed to satisfy constraint: Member must not be null`,
  );
}

export function serializationError(): CognitoError {
  return new CognitoError('SerializationException', 'Start of structure or map found where not expected.');
}

export function requiredString(input: JsonObject, member: string): string {
  const value = optionalString(input, member);
  if (value === undefined) throw missing(member);
  return value;
}

export function optionalString(input: JsonObject, member: string): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw serializationError();
  return value;
}

export function optionalInteger(input: JsonObject, member: string): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw serializationError();
  return value;
}

/** Prototype-free: a member named `__proto__` or `constructor` is just another (unknown) name. */
export function stringMap(value: unknown): Record<string, string> {
  const result: Record<string, string> = Object.create(null);
  if (value === undefined || value === null) return result;
  if (typeof value !== 'object' || Array.isArray(value)) throw serializationError();
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw serializationError();
    result[key] = entry;
  }
  return result;
}

export function stringList(value: unknown): string[] {
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string')) throw serializationError();
  return value as string[];
}

export function attributePairs(value: unknown, member: string): [string, string][] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw serializationError();
  return value.map((entry: unknown): [string, string] => {
    const { Name, Value } = (typeof entry === 'object' && entry !== null ? entry : {}) as { Name?: unknown; Value?: unknown };
    if (typeof Name !== 'string') throw missing(`${member}.member.name`);
    if (typeof Value !== 'string') throw serializationError();
    return [Name, Value];
  });
}
