/** The pool's passwords: its policy, scrypt hashes compared in constant time, and generated temporary passwords. */
import { randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

export interface PasswordPolicy {
  minimumLength: number;
  requireLowercase: boolean;
  requireUppercase: boolean;
  requireNumbers: boolean;
  requireSymbols: boolean;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  minimumLength: 8,
  requireLowercase: true,
  requireUppercase: true,
  requireNumbers: true,
  requireSymbols: false,
};

export interface PasswordHash {
  salt: Buffer;
  hash: Buffer;
}

const SYMBOLS = `^$*.[]{}()?"!@#%&/\\,><':;|_~\`=+-`;

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(16);
  return { salt, hash: await scryptAsync(password, salt, 32) };
}

export async function passwordMatches(password: string, stored: PasswordHash): Promise<boolean> {
  return timingSafeEqual(await scryptAsync(password, stored.salt, 32), stored.hash);
}

export function passwordPolicyFailure(password: string, policy: PasswordPolicy): string | undefined {
  if (password.length < policy.minimumLength) return 'Password not long enough';
  if (policy.requireLowercase && !/[a-z]/.test(password)) return 'Password must have lowercase characters';
  if (policy.requireUppercase && !/[A-Z]/.test(password)) return 'Password must have uppercase characters';
  if (policy.requireNumbers && !/[0-9]/.test(password)) return 'Password must have numeric characters';
  if (policy.requireSymbols && ![...password].some((char) => SYMBOLS.includes(char))) {
    return 'Password must have symbol characters';
  }
  return undefined;
}

/** What Cognito does when AdminCreateUser omits TemporaryPassword: one that satisfies the policy. */
export function generateTemporaryPassword(policy: PasswordPolicy): string {
  const classes = ['abcdefghijkmnopqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', '!@#%&*?'];
  const pick = (alphabet: string) => alphabet.charAt(randomInt(alphabet.length));
  const chars = classes.map(pick);
  const all = classes.join('');
  while (chars.length < Math.max(12, policy.minimumLength)) chars.push(pick(all));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}
