import type { App } from 'sst/constructs';

/**
 * Throwaway stages: whatever `sst dev` runs, and stages named `dev` or `dev-*`. They get no deletion
 * protection and are removed with their data; every other stage keeps its tables, user pool and
 * logs when a stack is deleted.
 */
export function isDevStage(app: App): boolean {
  return app.mode === 'dev' || /^dev(?:-|$)/.test(app.stage);
}

/** `<stage>-<app>-<name>`: unique per stage in one account, and what operators search for. */
export function resourceName(app: App, ...parts: string[]): string {
  return app.logicalPrefixedName(parts.join('-'));
}

/**
 * The origins each stage's web app is served from (its router's domain, a custom domain): browsers
 * upload evidence straight to presigned S3 URLs, another origin, so the cell buckets allow these.
 * Listed by name, as the router's distribution is created after the cells. None by default.
 */
const BROWSER_ORIGINS: Readonly<Record<string, readonly string[]>> = {};

export function browserOrigins(app: App): readonly string[] {
  return BROWSER_ORIGINS[app.stage] ?? [];
}
