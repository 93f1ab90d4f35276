/**
 * Cells: which tenants each cell holds (the tenant → cell map), its load against capacity, status,
 * wave, placement and the release it runs; settings changes, draining, and each cell's trail.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api } from '../api/client.js';
import { ErrorNotice, formatDateTime, Loading, Notice, Page, SelectField, TextField, UsageMeter } from '../ui/kit.js';
import { keys, useAllTenants, useCells } from './data.js';
import { AuditTrail, CellStatusBadge, ReasonAction } from './parts.js';
import { isMoveFinal, type AuditEntry, type Cell, type DrainResult, type Page as ApiPage, type Tenant } from './types.js';

export function CellsPage() {
  const tenants = useAllTenants({ followMoves: true });
  const moving = (tenants.data ?? []).some((tenant) => tenant.move && !isMoveFinal(tenant.move.state));
  const cells = useCells({ refetchInterval: moving ? 1000 : false });
  const [auditCell, setAuditCell] = useState('');
  // The map: every tenant that holds a place (not offboarded, not a cell's own probe), by cell.
  const byCell = new Map<string, Tenant[]>();
  for (const tenant of tenants.data ?? []) {
    if (!tenant.cellId || tenant.status === 'OFFBOARDED' || tenant.synthetic) continue;
    byCell.set(tenant.cellId, [...(byCell.get(tenant.cellId) ?? []), tenant]);
  }
  return (
    <Page title="Cells">
      <ErrorNotice error={cells.error ?? tenants.error} />
      {cells.isPending ? <Loading what="cells" /> : null}
      {cells.data?.length === 0 ? <p>No cell is deployed yet.</p> : null}
      <div className="grid">
        {(cells.data ?? []).map((cell) => (
          <CellCard key={cell.cellId} cell={cell} tenants={byCell.get(cell.cellId) ?? []} tenantsLoading={tenants.isPending} />
        ))}
      </div>
      {cells.data && cells.data.length > 0 ? (
        <section aria-labelledby="cell-audit-heading">
          <h2 id="cell-audit-heading">Cell audit trail</h2>
          <SelectField
            label="Cell"
            value={auditCell}
            options={[{ value: '', label: 'Choose a cell' }, ...cells.data.map((cell) => ({ value: cell.cellId, label: cell.cellId }))]}
            onChange={(event) => setAuditCell(event.target.value)}
          />
          {auditCell ? <CellAudit cellId={auditCell} /> : <p>Choose a cell to see who changed it, when and why.</p>}
        </section>
      ) : null}
    </Page>
  );
}

function CellCard({ cell, tenants, tenantsLoading }: { cell: Cell; tenants: readonly Tenant[]; tenantsLoading: boolean }) {
  const queryClient = useQueryClient();
  const headingId = `cell-${cell.cellId}`;
  const [capacity, setCapacity] = useState(String(cell.capacity));
  const [status, setStatus] = useState<'active' | 'draining'>(cell.status === 'draining' ? 'draining' : 'active');
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: keys.cells });
    void queryClient.invalidateQueries({ queryKey: keys.tenants });
    void queryClient.invalidateQueries({ queryKey: keys.cellAudit(cell.cellId) });
  };
  const update = useMutation({
    mutationFn: (reason: string) => {
      const body: Record<string, unknown> = { cellId: cell.cellId };
      if (Number(capacity) !== cell.capacity) body.capacity = Number(capacity);
      if (status !== cell.status) body.status = status;
      if (reason) body.reason = reason;
      return api<Cell>('POST', '/admin/cells', { body });
    },
    onSuccess: refresh,
  });
  const drain = useMutation({
    mutationFn: (reason: string) => api<DrainResult>('POST', `/admin/cells/${encodeURIComponent(cell.cellId)}/drain`, { body: { reason } }),
    onSuccess: refresh,
  });
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>{cell.cellId}</h2>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <CellStatusBadge status={cell.status} />
        </dd>
        <dt>Placement</dt>
        <dd>{cell.placement}</dd>
        <dt>Wave</dt>
        <dd>
          {cell.wave}
          {cell.wave === 0 ? ' (canary)' : ''}
        </dd>
        <dt>Region</dt>
        <dd>{cell.region}</dd>
        <dt>Release</dt>
        <dd>
          {cell.release ? (
            <>
              <Link to={`/console/releases/${encodeURIComponent(cell.release.releaseId)}`}>{cell.release.releaseId}</Link> since {formatDateTime(cell.release.since)}
              {cell.release.previousReleaseId ? ` (before: ${cell.release.previousReleaseId})` : ''}
            </>
          ) : (
            'none recorded'
          )}
        </dd>
      </dl>
      <UsageMeter label="Load (tenants)" used={cell.tenantCount} limit={cell.capacity} />
      <h3>Tenants in {cell.cellId}</h3>
      {moving(tenants) ? <p role="status">Tenants are moving out of or into {cell.cellId}.</p> : null}
      {tenantsLoading ? (
        <Loading what="tenants" />
      ) : tenants.length === 0 ? (
        <p>No tenants.</p>
      ) : (
        <ul className="console-cell-tenants" aria-label={`Tenants in ${cell.cellId}`}>
          {tenants.map((tenant) => (
            <li key={tenant.tenantId}>
              <Link to={`/console/tenants/${encodeURIComponent(tenant.tenantId)}`}>{tenant.name}</Link> ({tenant.tier}
              {tenant.status !== 'ACTIVE' ? `, ${tenant.status.toLowerCase()}` : ''})
            </li>
          ))}
        </ul>
      )}
      <details>
        <summary>Change {cell.cellId}’s settings</summary>
        <ReasonAction action={`Save ${cell.cellId} settings`} busy={update.isPending} error={update.error} onSubmit={(reason) => update.mutate(reason)}>
          <TextField label="Capacity (tenants)" type="number" min={0} value={capacity} onChange={(event) => setCapacity(event.target.value)} />
          <SelectField
            label="Status"
            value={status}
            options={[
              { value: 'active', label: 'active (takes new tenants)' },
              { value: 'draining', label: 'draining (takes none; tenants stay)' },
            ]}
            onChange={(event) => setStatus(event.target.value as 'active' | 'draining')}
          />
        </ReasonAction>
        {update.isSuccess ? <Notice tone="success">Settings saved.</Notice> : null}
      </details>
      <details>
        <summary>Drain {cell.cellId}</summary>
        <p>Stops placement here and moves every tenant to the least-loaded other cell of its kind.</p>
        <ReasonAction
          action={`Drain ${cell.cellId}`}
          variant="danger"
          required
          confirmText={`Drain ${cell.cellId} and move its ${cell.tenantCount} tenant${cell.tenantCount === 1 ? '' : 's'} away?`}
          busy={drain.isPending}
          error={drain.error}
          onSubmit={(reason) => drain.mutate(reason)}
        />
        {drain.data ? (
          <Notice tone="success">
            Draining: {drain.data.moves.length} move{drain.data.moves.length === 1 ? '' : 's'} started
            {drain.data.skipped.length > 0 ? `; skipped ${drain.data.skipped.map((skip) => `${skip.tenantId} (${skip.message})`).join(', ')}` : ''}.
          </Notice>
        ) : null}
      </details>
    </section>
  );
}

function moving(tenants: readonly Tenant[]): boolean {
  return tenants.some((tenant) => tenant.move && !isMoveFinal(tenant.move.state));
}

function CellAudit({ cellId }: { cellId: string }) {
  const audit = useQuery({
    queryKey: keys.cellAudit(cellId),
    queryFn: ({ signal }) => api<ApiPage<AuditEntry>>('GET', `/admin/cells/${encodeURIComponent(cellId)}/audit`, { query: { limit: 100 }, signal }),
  });
  if (audit.isPending) return <Loading what="the cell’s trail" />;
  if (audit.error) return <ErrorNotice error={audit.error} />;
  return <AuditTrail title={`Who changed ${cellId}`} items={audit.data.items} empty={`Nothing recorded for ${cellId} yet.`} />;
}
