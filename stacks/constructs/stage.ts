import { browserOriginsForStage } from '@cellbook/core/access/browser-cors';
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
 * The browser origins this stage allows across origins (core's per-stage list, one source for the
 * buckets' CORS rules, the router's preflights and its response headers policy). The web app itself
 * is served on the router's origin and needs none.
 */
export function browserOrigins(app: App): readonly string[] {
  return browserOriginsForStage(app.stage);
}
