import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type ReactNode } from 'react';
import { api } from '../api/client.js';
import { sessionStore, type Session } from '../api/session.js';
import { Button, ErrorNotice, Loading, Page } from '../ui/kit.js';
import { isTenantAdmin, useSession } from '../ui/session.js';
import type { Feature, Me } from './types.js';

/**
 * Every query key of the product starts with the signed-in user's tenant and name: a cached answer
 * for one user can never be served to the next one who signs in in the same tab, even before the
 * cache is cleared (see useClearCacheOnUserChange).
 */
export function useScope(): readonly [string, string] {
  const session = useSession();
  return ['product', `${session?.tenantId ?? ''}/${session?.username ?? ''}`] as const;
}

function identity(session: Session | undefined): string {
  return session ? `${session.tenantId ?? ''}/${session.username}` : '';
}

/**
 * Drops every cached answer when the user signs out or another user signs in: the query client
 * outlives the product (it is the app's), and a previous user's cases must not stay in memory.
 */
export function useClearCacheOnUserChange(): void {
  const queryClient = useQueryClient();
  useEffect(() => {
    let seen = identity(sessionStore.get());
    const unsubscribe = sessionStore.subscribe((session) => {
      const next = identity(session);
      if (next !== seen) queryClient.clear();
      seen = next;
    });
    return () => {
      unsubscribe();
      // The product unmounts when its user signs out (the sign-in page replaces it).
      if (identity(sessionStore.get()) !== seen) queryClient.clear();
    };
  }, [queryClient]);
}

/** `GET /me`: the tenant's tier, features and the user's roles (what the navigation offers). */
export function useMe() {
  const scope = useScope();
  return useQuery({ queryKey: [...scope, 'me'], queryFn: ({ signal }) => api<Me>('GET', '/me', { signal }), staleTime: 60_000 });
}

export function useIsAdmin(): boolean {
  return isTenantAdmin(useSession());
}

/**
 * Shows `children` only when the plan includes `feature` (and, with `admin`, to administrators);
 * otherwise a page that says why. The API refuses these requests anyway: this spares the user a
 * screen of errors.
 */
export function Gate({ title, feature, admin = false, children }: { title: string; feature?: Feature; admin?: boolean; children: ReactNode }) {
  const me = useMe();
  const isAdmin = useIsAdmin();
  if (me.isPending) return <Loading what="your plan" />;
  if (me.isError)
    return (
      <Page title={title}>
        <ErrorNotice error={me.error} />
      </Page>
    );
  if (feature && !me.data.entitlements.features.includes(feature))
    return (
      <Page title={title}>
        <p>This is not part of your organisation’s plan ({me.data.tier}). An administrator can ask for a plan that includes it.</p>
      </Page>
    );
  if (admin && !isAdmin)
    return (
      <Page title={title}>
        <p>Only administrators of your organisation can see this page.</p>
      </Page>
    );
  return <>{children}</>;
}

/**
 * Paging over an opaque cursor: the API only goes forward, so the pages seen so far are a stack of
 * the cursors that opened them; Previous pops one.
 */
export function useCursorStack() {
  const [stack, setStack] = useState<string[]>([]);
  return {
    cursor: stack.at(-1),
    page: stack.length + 1,
    next: (cursor: string) => setStack((current) => [...current, cursor]),
    previous: () => setStack((current) => current.slice(0, -1)),
    reset: () => setStack([]),
  };
}

export function Pager({
  label,
  page,
  nextCursor,
  onNext,
  onPrevious,
}: {
  label: string;
  page: number;
  nextCursor: string | null | undefined;
  onNext: (cursor: string) => void;
  onPrevious: () => void;
}) {
  if (page === 1 && !nextCursor) return null;
  return (
    <nav className="pager" aria-label={label}>
      <Button variant="secondary" onClick={onPrevious} disabled={page === 1}>
        Previous
      </Button>
      <span>Page {page}</span>
      <Button variant="secondary" onClick={() => nextCursor && onNext(nextCursor)} disabled={!nextCursor}>
        Next
      </Button>
    </nav>
  );
}
