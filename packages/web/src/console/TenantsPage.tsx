/** Tenants: the list (status filter, pages, search by name or id) and the onboarding form. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import { Button, ErrorNotice, formatDateTime, Loading, Notice, Page, SelectField, TextField } from '../ui/kit.js';
import { keys, useAllTenants } from './data.js';
import { TenantStatusBadge } from './parts.js';
import { TENANT_STATUSES, TIERS, type OnboardedTenant, type Page as ApiPage, type Tenant, type TierName } from './types.js';

const PAGE_SIZE = 25;

export function TenantsPage() {
  const [status, setStatus] = useState('');
  const [search, setSearch] = useState('');
  // The cursors of the pages before this one: "Previous" pops one.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const term = search.trim().toLowerCase();
  const paged = useQuery({
    queryKey: keys.tenantPage(status, cursor),
    queryFn: ({ signal }) => api<ApiPage<Tenant>>('GET', '/admin/tenants', { query: { status: status || undefined, limit: PAGE_SIZE, cursor }, signal }),
    enabled: term === '',
  });
  // A search looks through every tenant: the API has no search, and a page would hide matches.
  const all = useAllTenants();
  const searching = term !== '';
  const matches = searching
    ? (all.data ?? []).filter((tenant) => (!status || tenant.status === status) && (tenant.name.toLowerCase().includes(term) || tenant.tenantId.toLowerCase().includes(term)))
    : [];
  const rows = searching ? matches : (paged.data?.items ?? []);
  const query = searching ? all : paged;
  return (
    <Page
      title="Tenants"
      actions={
        <Link className="button button-primary" to="/console/tenants/new">
          Onboard a tenant
        </Link>
      }
    >
      <search aria-label="Find tenants">
        <form className="inline-form" onSubmit={(event) => event.preventDefault()}>
          <TextField label="Search by name or id" type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
          <SelectField
            label="Status"
            value={status}
            options={[{ value: '', label: 'Any status' }, ...TENANT_STATUSES.map((value) => ({ value, label: value.toLowerCase() }))]}
            onChange={(event) => {
              setStatus(event.target.value);
              setCursors([undefined]);
            }}
          />
        </form>
      </search>
      <ErrorNotice error={query.error} />
      {query.isPending ? (
        <Loading what="tenants" />
      ) : rows.length === 0 ? (
        <p>{searching ? `No tenant’s name or id contains “${search.trim()}”.` : status ? `No ${status.toLowerCase()} tenants.` : 'No tenants yet: onboard the first one.'}</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption>{searching ? `${rows.length} tenant${rows.length === 1 ? '' : 's'} found` : 'Tenants, oldest first'}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Id</th>
                <th scope="col">Tier</th>
                <th scope="col">Status</th>
                <th scope="col">Cell</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((tenant) => (
                <tr key={tenant.tenantId}>
                  <th scope="row">
                    <Link to={`/console/tenants/${encodeURIComponent(tenant.tenantId)}`}>{tenant.name}</Link>
                  </th>
                  <td>{tenant.tenantId}</td>
                  <td>{tenant.tier}</td>
                  <td>
                    <TenantStatusBadge status={tenant.status} />
                    {tenant.move && tenant.move.state !== 'DONE' && tenant.move.state !== 'FAILED' ? ' moving' : ''}
                  </td>
                  <td>{tenant.cellId ?? '—'}</td>
                  <td>{formatDateTime(tenant.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {searching ? null : (
        <nav className="pager" aria-label="Tenant pages">
          <Button variant="secondary" disabled={cursors.length === 1} onClick={() => setCursors((list) => list.slice(0, -1))}>
            Previous page
          </Button>
          <span>Page {cursors.length}</span>
          <Button
            variant="secondary"
            disabled={!paged.data?.nextCursor}
            onClick={() => {
              const next = paged.data?.nextCursor;
              if (next) setCursors((list) => [...list, next]);
            }}
          >
            Next page
          </Button>
        </nav>
      )}
    </Page>
  );
}

/**
 * Onboarding. One `Idempotency-Key` per submission of these values: a double click, or a retry after
 * the network dropped the answer, onboards the tenant once; changing a field makes it a new request.
 */
export function OnboardPage() {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [tier, setTier] = useState<TierName>('basic');
  const [adminEmail, setAdminEmail] = useState('');
  const idempotencyKey = useRef<string>(crypto.randomUUID());
  const onboard = useMutation({
    mutationFn: (body: { name: string; tier: TierName; adminEmail: string }) =>
      api<OnboardedTenant>('POST', '/admin/tenants', { body, headers: { 'idempotency-key': idempotencyKey.current } }),
    onSuccess: () => {
      idempotencyKey.current = crypto.randomUUID();
      void queryClient.invalidateQueries({ queryKey: keys.tenants });
      void queryClient.invalidateQueries({ queryKey: keys.cells });
    },
  });
  const edit = (apply: () => void) => {
    apply();
    idempotencyKey.current = crypto.randomUUID();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onboard.mutate({ name: name.trim(), tier, adminEmail: adminEmail.trim() });
  };
  const fieldProblem = (path: string) =>
    onboard.error instanceof ApiError ? onboard.error.details.find((detail) => detail.path === path || detail.path?.endsWith(`.${path}`))?.message : undefined;
  const done = onboard.data;
  return (
    <Page title="Onboard a tenant">
      {done ? (
        <div className="card">
          <Notice tone="success">
            {done.name} is onboarded ({done.tier}, {done.status.toLowerCase()}, in {done.cellId ?? 'no cell yet'}).
          </Notice>
          <p>Give the administrator these sign-in details. The temporary password is shown only this once; they choose their own at their first sign-in.</p>
          <dl className="facts">
            <dt>Administrator</dt>
            <dd>{done.admin.username}</dd>
            <dt>Temporary password</dt>
            <dd>
              <code>{done.admin.temporaryPassword}</code>
            </dd>
          </dl>
          <p className="console-buttons">
            <Link className="button button-primary" to={`/console/tenants/${encodeURIComponent(done.tenantId)}`}>
              Open {done.name}
            </Link>
            <Button
              variant="secondary"
              onClick={() => {
                onboard.reset();
                setName('');
                setAdminEmail('');
              }}
            >
              Onboard another
            </Button>
          </p>
        </div>
      ) : (
        <form className="card" onSubmit={submit} aria-label="Onboard a tenant">
          <TextField label="Organisation name" required value={name} problem={fieldProblem('name')} onChange={(event) => edit(() => setName(event.target.value))} />
          <SelectField
            label="Tier"
            value={tier}
            options={TIERS.map((value) => ({ value, label: value }))}
            onChange={(event) => edit(() => setTier(event.target.value as TierName))}
          />
          <TextField
            label="Administrator’s e-mail"
            type="email"
            required
            autoComplete="off"
            value={adminEmail}
            problem={fieldProblem('adminEmail')}
            onChange={(event) => edit(() => setAdminEmail(event.target.value))}
          />
          <ErrorNotice error={onboard.error} title="Not onboarded." />
          <Button type="submit" busy={onboard.isPending}>
            Onboard
          </Button>
        </form>
      )}
    </Page>
  );
}
