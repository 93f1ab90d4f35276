/**
 * A release (DESIGN §9): an immutable build of everything a cell runs — its function bundles and its
 * configuration — named by its content. The same sources at the same commit give the same id; any
 * byte that differs (code, a setting, an injected fault) gives another.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import '../shared/zod-locale.js';

const Sha256 = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be a sha256 digest (64 lowercase hex digits)'));
const ArtefactPath = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/, 'must be a relative path of letters, digits, "_", "-" and "."'), z.maxLength(200))
  .check(z.refine((path) => !path.split('/').some((part) => part === '..' || part === '.'), 'must not contain "." or ".." segments'));

const MAX_ARTEFACTS = 1000;
const MAX_SETTINGS = 50;

export const ReleaseManifest = z.strictObject({
  /** What the release was built from: a commit (with `+dirty` when the working tree had changes). */
  commit: z.string().check(z.minLength(1), z.maxLength(80), z.regex(/^[\w.+-]+$/, 'must be a commit id (letters, digits, ".", "+", "-", "_")')),
  /** Every file the cell runs (bundles, templates), by path within the release → its sha256. */
  // At most 1,000 artefacts and 50 settings: a manifest is one registry item, which DynamoDB caps at 400 KB.
  artefacts: z
    .record(ArtefactPath, Sha256)
    .check(z.refine((artefacts) => Object.keys(artefacts).length > 0 && Object.keys(artefacts).length <= MAX_ARTEFACTS, `must list between 1 and ${MAX_ARTEFACTS} artefacts`)),
  /** The cell configuration that is part of the release (settings, an injected fault…). */
  config: z
    .record(z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be a setting name')), z.string().check(z.maxLength(500)))
    .check(z.refine((config) => Object.keys(config).length <= MAX_SETTINGS, 'must hold at most 50 settings')),
});
export type ReleaseManifest = z.infer<typeof ReleaseManifest>;

export const RELEASE_ID_PATTERN = /^r-[0-9a-f]{16}$/;

export function isReleaseId(value: unknown): value is string {
  return typeof value === 'string' && RELEASE_ID_PATTERN.test(value);
}

/** The manifest as one canonical string: keys sorted at every level, so the id never depends on their order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `r-` and the first 16 hex digits of the sha256 of the canonical manifest (commit, artefacts, config). */
export function releaseIdOf(manifest: ReleaseManifest): string {
  return `r-${createHash('sha256').update(canonical(manifest)).digest('hex').slice(0, 16)}`;
}

export function sha256(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}
