/**
 * The console's reads and raw downloads. Every read goes through react-query with a key naming what
 * it shows, so a mutation invalidates exactly the screens it changes.
 */
import { useQuery } from '@tanstack/react-query';
import { api, renewSession, withQuery } from '../api/client.js';
import { ApiError, codeForStatus } from '../api/errors.js';
import { sessionStore } from '../api/session.js';
import { isMoveFinal, type Cell, type Page, type Tenant } from './types.js';

export const keys = {
  tenants: ['console', 'tenants'] as const,
  tenantPage: (status: string, cursor: string | undefined) => ['console', 'tenants', 'page', status, cursor ?? ''] as const,
  allTenants: ['console', 'tenants', 'all'] as const,
  tenant: (id: string) => ['console', 'tenants', 'one', id] as const,
  tenantAudit: (id: string) => ['console', 'tenants', 'one', id, 'audit'] as const,
  tenantUsage: (id: string) => ['console', 'tenants', 'one', id, 'usage'] as const,
  cells: ['console', 'cells'] as const,
  cellAudit: (id: string) => ['console', 'cells', id, 'audit'] as const,
  releases: ['console', 'releases'] as const,
  release: (id: string) => ['console', 'releases', id] as const,
  usage: (groupBy: string, sort: string, top: number) => ['console', 'usage', groupBy, sort, top] as const,
  slo: ['console', 'slo'] as const,
  neighbours: (tenantId: string) => ['console', 'slo', tenantId] as const,
};

/** Every tenant, all pages (the search box and the tenant → cell map need the whole list, which the API pages). */
export function useAllTenants({ followMoves = false }: { followMoves?: boolean } = {}) {
  return useQuery<Tenant[]>({
    queryKey: keys.allTenants,
    // A screen that shows where tenants are follows their moves (a drain starts several) every second.
    refetchInterval: (query) => (followMoves && query.state.data?.some((tenant) => tenant.move && !isMoveFinal(tenant.move.state)) ? 1000 : false),
    queryFn: async ({ signal }) => {
      const all: Tenant[] = [];
      let cursor: string | undefined;
      do {
        const page = await api<Page<Tenant>>('GET', '/admin/tenants', { query: { limit: 100, cursor }, signal });
        all.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return all;
    },
  });
}

export function useCells({ refetchInterval = false }: { refetchInterval?: number | false } = {}) {
  return useQuery({ queryKey: keys.cells, refetchInterval, queryFn: ({ signal }) => api<{ items: Cell[] }>('GET', '/admin/cells', { signal }).then((body) => body.items) });
}

/**
 * A GET whose body is not JSON (NDJSON export pages, CSV): the same bearer token and renewal as
 * `api`, but the caller reads the body and headers itself.
 */
export async function rawGet(path: string, query: Record<string, string | number | undefined>, accept: string): Promise<Response> {
  const attempt = () => {
    const token = sessionStore.get()?.accessToken;
    return fetch(withQuery(path, query), { headers: { accept, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  };
  let response = await attempt().catch(() => {
    throw new ApiError(0, 'NETWORK', '');
  });
  if (response.status === 401 && (await renewSession())) response = await attempt();
  if (!response.ok) {
    let message = '';
    let code = codeForStatus(response.status);
    try {
      const body = (await response.json()) as { error?: { code?: string; message?: string } };
      message = body.error?.message ?? '';
      code = body.error?.code ?? code;
    } catch {
      // Not JSON: the status says enough.
    }
    throw new ApiError(response.status, code, message);
  }
  return response;
}

/** Hands `blob` to the browser as a download named `filename` (a Blob URL, released right after). */
export function offerDownload(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // The click has started the download; the URL is no longer needed once this task ends.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/**
 * Fetches every page of a tenant's export (`X-Next-Cursor` continues) and joins them into one JSON
 * Lines file. `onPage` reports the items read so far.
 */
export async function exportTenant(tenantId: string, onPage: (items: number) => void): Promise<Blob> {
  const parts: string[] = [];
  let items = 0;
  let cursor: string | undefined;
  do {
    const response = await rawGet(`/admin/tenants/${encodeURIComponent(tenantId)}/export`, { limit: 1000, cursor }, 'application/x-ndjson');
    const text = await response.text();
    if (text) parts.push(text.endsWith('\n') ? text : `${text}\n`);
    items += Number(response.headers.get('x-item-count') ?? 0);
    onPage(items);
    cursor = response.headers.get('x-next-cursor') ?? undefined;
  } while (cursor);
  return new Blob(parts, { type: 'application/x-ndjson' });
}
