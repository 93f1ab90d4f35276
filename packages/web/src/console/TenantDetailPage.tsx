/**
 * One tenant: its facts, usage against its plan with cost and margin, and every operator action —
 * tier change, suspend/reactivate, a move with live progress, export, offboarding — and its trail.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../api/client.js';
import { BarChart, SERIES_COLORS } from '../ui/charts.js';
import { Badge, Button, ErrorNotice, formatBytes, formatDateTime, formatNumber, Loading, Notice, Page, SelectField, UsageMeter } from '../ui/kit.js';
import { exportTenant, keys, offerDownload, useCells } from './data.js';
import { AuditTrail, formatUsd, ReasonAction, TenantStatusBadge, TypedConfirm } from './parts.js';
import {
  isMoveFinal,
  MOVE_STEPS,
  PLAN_LIMITS,
  TIERS,
  type AuditEntry,
  type Page as ApiPage,
  type Tenant,
  type TenantMove,
  type SloReport,
  type TenantUsage,
  type TierName,
} from './types.js';

export function TenantDetailPage() {
  const tenantId = useParams().tenantId ?? '';
  const tenant = useQuery({
    queryKey: keys.tenant(tenantId),
    queryFn: ({ signal }) => api<Tenant>('GET', `/admin/tenants/${encodeURIComponent(tenantId)}`, { signal }),
    // A move under way is watched every second until it ends (the operator sees each state).
    refetchInterval: (query) => (query.state.data?.move && !isMoveFinal(query.state.data.move.state) ? 1000 : false),
  });
  if (tenant.isPending) return <Page title="Tenant">{<Loading what="the tenant" />}</Page>;
  if (tenant.error || !tenant.data)
    return (
      <Page title="Tenant">
        <ErrorNotice error={tenant.error} />
        <p>
          <Link to="/console/tenants">Back to the tenants</Link>
        </p>
      </Page>
    );
  return <TenantScreen tenant={tenant.data} />;
}

function TenantScreen({ tenant }: { tenant: Tenant }) {
  const live = tenant.status !== 'OFFBOARDED';
  return (
    <Page title={tenant.name} actions={<Link to="/console/tenants">All tenants</Link>}>
      <div className="grid">
        <section className="card" aria-labelledby="facts-heading">
          <h2 id="facts-heading">Facts</h2>
          <dl className="facts">
            <dt>Id</dt>
            <dd>{tenant.tenantId}</dd>
            <dt>Status</dt>
            <dd>
              <TenantStatusBadge status={tenant.status} />
            </dd>
            <dt>Tier (plan)</dt>
            <dd>{tenant.tier}</dd>
            <dt>Cell</dt>
            <dd>{tenant.cellId ? <Link to="/console/cells">{tenant.cellId}</Link> : '—'}</dd>
            <dt>Administrator</dt>
            <dd>{tenant.adminUsername}</dd>
            <dt>Onboarded</dt>
            <dd>{formatDateTime(tenant.createdAt)}</dd>
            <dt>Last change</dt>
            <dd>{formatDateTime(tenant.updatedAt)}</dd>
          </dl>
        </section>
        {tenant.move ? <MoveProgress move={tenant.move} /> : null}
      </div>
      {live ? <TenantUsageSection tenant={tenant} /> : null}
      {live ? <Neighbours tenantId={tenant.tenantId} /> : null}
      {live ? <TenantActions tenant={tenant} /> : <Notice>This tenant is offboarded: its data is gone and only this record and its trail remain.</Notice>}
      <TenantAudit tenantId={tenant.tenantId} />
    </Page>
  );
}

/** The move's states as a checklist, every state the console saw, and how it ended. */
function MoveProgress({ move }: { move: TenantMove }) {
  const [seen, setSeen] = useState<{ moveId: string; states: { state: string; at: string }[] }>({ moveId: move.moveId, states: [] });
  useEffect(() => {
    setSeen((current) => {
      const states = current.moveId === move.moveId ? current.states : [];
      if (states[states.length - 1]?.state === move.state) return current.moveId === move.moveId ? current : { moveId: move.moveId, states };
      return { moveId: move.moveId, states: [...states, { state: move.state, at: move.updatedAt }] };
    });
  }, [move.moveId, move.state, move.updatedAt]);
  const reached = MOVE_STEPS.indexOf(move.state);
  const final = isMoveFinal(move.state);
  const queryClient = useQueryClient();
  // When the move ends, the cells' loads, the list and the trail have changed with it.
  useEffect(() => {
    if (!final) return;
    void queryClient.invalidateQueries({ queryKey: keys.cells });
    void queryClient.invalidateQueries({ queryKey: keys.tenants, refetchType: 'active' });
  }, [final, queryClient]);
  return (
    <section className="card" aria-labelledby="move-heading">
      <h2 id="move-heading">{final ? 'Last move' : 'Move in progress'}</h2>
      <p>
        From {move.fromCellId} to {move.toCellId}
        {move.toTier ? ` (becoming ${move.toTier})` : ''}, asked by {move.actor} {formatDateTime(move.requestedAt)}
        {move.reason ? ` — “${move.reason}”` : ''}.
      </p>
      <ol className="console-steps" aria-label="Move steps">
        {MOVE_STEPS.map((step, index) => {
          const state = move.state === 'FAILED' ? 'not reached' : index < reached ? 'done' : index === reached ? (step === 'DONE' ? 'done' : 'current') : 'to do';
          return (
            <li key={step} className={`console-step console-step-${state.replace(' ', '-')}`} aria-current={state === 'current' ? 'step' : undefined}>
              {index + 1}. {step.toLowerCase()} <span className="console-step-state">({state})</span>
            </li>
          );
        })}
      </ol>
      <div role="status" aria-live="polite">
        {move.state === 'DONE' ? (
          <Notice tone="success">
            Move finished {formatDateTime(move.finishedAt ?? move.updatedAt)}:{' '}
            {move.copied ? `${formatNumber(move.copied.count)} items copied and verified` : 'copied and verified'}; the tenant is served by {move.toCellId}.
          </Notice>
        ) : move.state === 'FAILED' ? (
          <div className="notice notice-error">
            Move failed: {move.error ?? 'no reason recorded'}. The tenant stays in {move.fromCellId}; ask for the move again to resume it.
          </div>
        ) : (
          <p>
            Now: <strong>{move.state.toLowerCase()}</strong>
            {move.copyProgress ? ` (${formatNumber(move.copyProgress.items)} items copied so far)` : ''}. The page follows it every second.
          </p>
        )}
      </div>
      {seen.states.length > 0 ? (
        <>
          <h3>States seen</h3>
          <ul aria-label="States seen">
            {seen.states.map((entry) => (
              <li key={entry.state}>
                {entry.state.toLowerCase()} at {formatDateTime(entry.at)}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

function TenantUsageSection({ tenant }: { tenant: Tenant }) {
  const usage = useQuery({
    queryKey: keys.tenantUsage(tenant.tenantId),
    queryFn: ({ signal }) => api<TenantUsage>('GET', `/admin/tenants/${encodeURIComponent(tenant.tenantId)}/usage`, { query: { granularity: 'day' }, signal }),
  });
  const plan = PLAN_LIMITS[tenant.tier];
  const data = usage.data;
  const today = data?.series[data.series.length - 1];
  return (
    <section className="card" aria-labelledby="usage-heading">
      <h2 id="usage-heading">Usage against the {tenant.tier} plan</h2>
      <ErrorNotice error={usage.error} />
      {usage.isPending ? <Loading what="usage" /> : null}
      {data ? (
        <>
          <UsageMeter label="API requests, latest day" used={today?.quantities.apiRequests ?? 0} limit={plan.requestsPerDay} />
          <UsageMeter label="Active cases" used={data.totals.gauges.activeCases ?? 0} limit={plan.activeCases} />
          <UsageMeter label="Users" used={data.totals.gauges.users ?? 0} limit={plan.users} />
          <p>Evidence stored: {formatBytes(data.totals.gauges.storageBytes ?? 0)}</p>
          <dl className="facts">
            <dt>Cost, last 30 days</dt>
            <dd>{formatUsd(data.economics.cost)}</dd>
            <dt>Revenue</dt>
            <dd>{formatUsd(data.economics.revenue)}</dd>
            <dt>Margin</dt>
            <dd>
              {formatUsd(data.economics.margin)}
              {data.economics.marginPercent !== null ? ` (${data.economics.marginPercent}%)` : ''}
            </dd>
            <dt>Cost per 1,000 calls</dt>
            <dd>{data.economics.costPer1000Calls ? formatUsd(data.economics.costPer1000Calls) : '—'}</dd>
          </dl>
          <BarChart
            title="Requests and cases per day"
            rows={data.series.map((row) => ({ label: row.period, values: { requests: row.quantities.apiRequests, cases: row.quantities.casesCreated } }))}
            series={[
              { key: 'requests', label: 'API requests', color: SERIES_COLORS[0] },
              { key: 'cases', label: 'Cases created', color: SERIES_COLORS[1] },
            ]}
            emptyText="No metered usage in the last 30 days yet (usage arrives with the gateway’s logs)."
          />
        </>
      ) : null}
    </section>
  );
}

function TenantActions({ tenant }: { tenant: Tenant }) {
  const queryClient = useQueryClient();
  const path = `/admin/tenants/${encodeURIComponent(tenant.tenantId)}`;
  const refresh = (next?: Tenant) => {
    if (next) queryClient.setQueryData(keys.tenant(tenant.tenantId), next);
    void queryClient.invalidateQueries({ queryKey: keys.tenants });
    void queryClient.invalidateQueries({ queryKey: keys.tenantAudit(tenant.tenantId) });
    void queryClient.invalidateQueries({ queryKey: keys.cells });
  };
  const moving = tenant.move !== undefined && !isMoveFinal(tenant.move.state);
  const suspended = tenant.status === 'SUSPENDED';
  const [tier, setTier] = useState<TierName>(tenant.tier);
  const changeTier = useMutation({
    mutationFn: (reason: string) => api<Tenant | { tenantId: string; move: TenantMove }>('PATCH', path, { body: { tier, ...(reason ? { reason } : {}) } }),
    onSuccess: (answer) => {
      // 202 (to or from enterprise) answers the move that carries the change; the record shows it.
      if ('name' in answer) refresh(answer);
      else refresh();
      void queryClient.invalidateQueries({ queryKey: keys.tenant(tenant.tenantId) });
    },
  });
  const suspendOrReactivate = useMutation({
    mutationFn: (reason: string) => api<Tenant>('POST', `${path}/${suspended ? 'reactivate' : 'suspend'}`, { body: reason ? { reason } : {} }),
    onSuccess: (next) => refresh(next),
  });
  const cells = useCells();
  const kind = tenant.tier === 'enterprise' ? 'dedicated' : 'pooled';
  const targets = (cells.data ?? []).filter((cell) => cell.placement === kind && cell.cellId !== tenant.cellId && cell.status === 'active');
  const [target, setTarget] = useState('');
  const move = useMutation({
    mutationFn: (reason: string) =>
      api<{ tenantId: string; move: TenantMove }>('POST', `${path}/move`, { body: { ...(target ? { cellId: target } : {}), ...(reason ? { reason } : {}) } }),
    onSuccess: (answer) => {
      // The record now carries the move: showing it at once starts the one-second watch.
      queryClient.setQueryData<Tenant>(keys.tenant(tenant.tenantId), (current) => (current ? { ...current, move: answer.move } : current));
      refresh();
    },
  });
  const offboard = useMutation({
    mutationFn: (reason: string) => api<{ purged?: { cellId: string; count: number } }>('DELETE', path, { body: reason ? { reason } : {} }),
    onSuccess: () => {
      refresh();
      void queryClient.invalidateQueries({ queryKey: keys.tenant(tenant.tenantId) });
    },
  });
  const [exported, setExported] = useState<{ items: number; done: boolean } | undefined>();
  const download = useMutation({
    mutationFn: async () => {
      setExported({ items: 0, done: false });
      const blob = await exportTenant(tenant.tenantId, (items) => setExported({ items, done: false }));
      offerDownload(blob, `${tenant.tenantId}-export.jsonl`);
      return blob;
    },
    onSuccess: () => setExported((current) => (current ? { ...current, done: true } : current)),
  });
  return (
    <section aria-labelledby="actions-heading">
      <h2 id="actions-heading">Actions</h2>
      <div className="grid">
        <div className="card">
          <h3>Change the tier</h3>
          {moving ? <p>Wait for the move to end before changing the tier.</p> : null}
          <ReasonAction action="Change tier" busy={changeTier.isPending} error={changeTier.error} onSubmit={(reason) => changeTier.mutate(reason)}>
            <SelectField
              label="New tier"
              value={tier}
              options={TIERS.map((value) => ({ value, label: value }))}
              onChange={(event) => setTier(event.target.value as TierName)}
            />
          </ReasonAction>
          {changeTier.data ? (
            <Notice tone="success">
              {'move' in changeTier.data && !('name' in changeTier.data)
                ? 'A move to the right kind of cell has started; the tier changes at its switch.'
                : 'Tier change recorded: the new plan applies from the next request.'}
            </Notice>
          ) : null}
        </div>
        <div className="card">
          <h3>{suspended ? 'Reactivate' : 'Suspend'}</h3>
          <p>
            {suspended
              ? 'Its users can work again from their next request.'
              : 'Its users are refused from their next request; nothing is deleted. Offboarding needs a suspended tenant.'}
          </p>
          {tenant.status === 'ACTIVE' || suspended ? (
            <ReasonAction
              key={tenant.status}
              action={suspended ? 'Reactivate' : 'Suspend'}
              variant={suspended ? 'primary' : 'danger'}
              required={!suspended}
              confirmText={suspended ? undefined : `Suspend ${tenant.name}? Its users will be refused until it is reactivated.`}
              busy={suspendOrReactivate.isPending}
              error={suspendOrReactivate.error}
              onSubmit={(reason) => suspendOrReactivate.mutate(reason)}
            />
          ) : (
            <p>Only an active or suspended tenant can be.</p>
          )}
        </div>
        <div className="card">
          <h3>Move to another cell</h3>
          {moving ? (
            <p>A move is under way (see its progress above).</p>
          ) : tenant.status !== 'ACTIVE' && tenant.status !== 'SUSPENDED' ? (
            <p>Only an onboarded tenant can move.</p>
          ) : (
            <ReasonAction action="Start move" busy={move.isPending} error={move.error} onSubmit={(reason) => move.mutate(reason)}>
              <SelectField
                label="Target cell"
                value={target}
                options={[
                  { value: '', label: `Least loaded ${kind} cell` },
                  ...targets.map((cell) => ({ value: cell.cellId, label: `${cell.cellId} (${cell.tenantCount} of ${cell.capacity})` })),
                ]}
                onChange={(event) => setTarget(event.target.value)}
              />
            </ReasonAction>
          )}
        </div>
        <div className="card">
          <h3>Export</h3>
          <p>Every item of the tenant, in every table, as one JSON Lines file.</p>
          <Button variant="secondary" busy={download.isPending} onClick={() => download.mutate()}>
            Download export
          </Button>
          {exported ? (
            <p role="status">
              {exported.done ? `Export ready: ${formatNumber(exported.items)} items downloaded.` : `Exporting… ${formatNumber(exported.items)} items so far.`}
            </p>
          ) : null}
          <ErrorNotice error={download.error} />
        </div>
        <div className="card">
          <h3>Offboard</h3>
          {offboard.isSuccess ? (
            <Notice tone="success">Offboarded: the tenant’s data is purged.</Notice>
          ) : suspended ? (
            <>
              <p>
                Deletes every item of the tenant for good. Take its export first. Type <Badge>{tenant.name}</Badge> to confirm.
              </p>
              <TypedConfirm
                label="Tenant name, to confirm"
                expected={tenant.name}
                action="Offboard for good"
                busy={offboard.isPending}
                error={offboard.error}
                onConfirm={(reason) => offboard.mutate(reason)}
              />
            </>
          ) : (
            <p>Only a suspended tenant can be offboarded: suspend it first.</p>
          )}
        </div>
      </div>
    </section>
  );
}

function TenantAudit({ tenantId }: { tenantId: string }) {
  const audit = useQuery({
    queryKey: keys.tenantAudit(tenantId),
    queryFn: ({ signal }) => api<ApiPage<AuditEntry>>('GET', `/admin/tenants/${encodeURIComponent(tenantId)}/audit`, { signal }),
  });
  return (
    <section aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit trail</h2>
      <ErrorNotice error={audit.error} />
      {audit.isPending ? <Loading what="the trail" /> : null}
      {audit.data ? <AuditTrail title="Who did what to this tenant" items={audit.data.items} empty="Nothing recorded yet." /> : null}
    </section>
  );
}

function ms(value: number | null): string {
  return value === null ? '—' : `${formatNumber(Math.round(value))} ms`;
}

/** The tenant's latency and errors next to its cell neighbours' (is it the noisy one, or the one suffering?). */
function Neighbours({ tenantId }: { tenantId: string }) {
  const slo = useQuery({
    queryKey: keys.neighbours(tenantId),
    queryFn: ({ signal }) => api<SloReport>('GET', '/admin/slo', { query: { tenantId }, signal }),
  });
  const cells = slo.data?.neighbours?.cells ?? [];
  return (
    <section aria-labelledby="neighbours-heading">
      <h2 id="neighbours-heading">Next to its neighbours</h2>
      <ErrorNotice error={slo.error} />
      {slo.isPending ? <Loading what="neighbours" /> : null}
      {slo.data && cells.length === 0 ? <p>No traffic of this tenant in the last window yet.</p> : null}
      {cells.map((cell) => (
        <div className="table-wrap" key={cell.cellId}>
          <table>
            <caption>
              Latency and errors in {cell.cellId}, {formatDateTime(slo.data?.neighbours?.window.from)} to {formatDateTime(slo.data?.neighbours?.window.to)}
            </caption>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col" className="number">
                  Requests
                </th>
                <th scope="col" className="number">
                  p50
                </th>
                <th scope="col" className="number">
                  p95
                </th>
                <th scope="col" className="number">
                  p99
                </th>
                <th scope="col" className="number">
                  Error rate
                </th>
              </tr>
            </thead>
            <tbody>
              {[cell.tenant, ...cell.neighbours].map((row, index) => (
                <tr key={row.tenantId}>
                  <th scope="row">{index === 0 ? `${row.tenantId} (this tenant)` : row.tenantId}</th>
                  <td className="number">{formatNumber(row.requests)}</td>
                  <td className="number">{ms(row.p50)}</td>
                  <td className="number">{ms(row.p95)}</td>
                  <td className="number">{ms(row.p99)}</td>
                  <td className="number">{(row.errorRate * 100).toFixed(2)}%</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}
