import { useSyncExternalStore } from 'react';
import { sessionStore, type Session } from '../api/session.js';

/** The signed-in user (undefined once signed out or refused), re-rendering on every change. */
export function useSession(): Session | undefined {
  return useSyncExternalStore(sessionStore.subscribe, sessionStore.get, sessionStore.get);
}

/** True when the session's user is an administrator of their tenant. */
export function isTenantAdmin(session: Session | undefined): boolean {
  return session?.roles.includes('admin') ?? false;
}
