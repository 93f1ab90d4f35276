/**
 * For tests (core's and the functions' error middleware's): every concrete domain error core
 * exports, found by walking the errors module, so a new error cannot be left out of a check.
 */
import * as Errors from './errors.js';

type AnyErrorClass = new (message: string) => Error;

/** The abstract bases: exported for `instanceof`, never thrown, so they declare no code. */
const ABSTRACT_BASES: readonly unknown[] = [Errors.TransientDomainError];

/** `[class name, an instance with the given message]` for each concrete domain error. */
export function everyDomainError(message: string): Array<[string, Errors.DomainError]> {
  return Object.entries(Errors as Record<string, unknown>)
    .filter((entry): entry is [string, AnyErrorClass] => typeof entry[1] === 'function' && entry[1].prototype instanceof Errors.DomainError)
    .filter(([, ErrorClass]) => !ABSTRACT_BASES.includes(ErrorClass))
    .map(([name, ErrorClass]) => [name, new ErrorClass(message) as Errors.DomainError]);
}
