/** Releases: rollouts newest first; one release's waves, each cell's state and gate figures, and its controls. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api } from '../api/client.js';
import { Badge, ErrorNotice, formatDateTime, formatNumber, Loading, Notice, Page } from '../ui/kit.js';
import { keys } from './data.js';
import { ReasonAction } from './parts.js';
import type { Page as ApiPage, Rollout } from './types.js';

const ACTIVE = new Set<Rollout['status']>(['rolling-out', 'rolling-back']);

function StatusBadge({ status }: { status: Rollout['status'] }) {
  const tone =
    status === 'finished' ? 'good' : status === 'rolling-out' || status === 'rolling-back' ? 'info' : status === 'rollback-failed' || status === 'halted' ? 'bad' : 'warn';
  return <Badge tone={tone}>{status}</Badge>;
}

export function ReleasesPage() {
  const releases = useQuery({
    queryKey: keys.releases,
    queryFn: ({ signal }) => api<ApiPage<Rollout>>('GET', '/admin/releases', { query: { limit: 50 }, signal }),
    refetchInterval: (query) => (query.state.data?.items.some((release) => ACTIVE.has(release.status)) ? 2000 : false),
  });
  return (
    <Page title="Releases">
      <ErrorNotice error={releases.error} />
      {releases.isPending ? <Loading what="releases" /> : null}
      {releases.data?.items.length === 0 ? (
        <p>
          No release has been rolled out through the control plane yet. Start one with `npm run release` (or POST /admin/releases); each cell’s current release is on the Cells
          page.
        </p>
      ) : null}
      {releases.data && releases.data.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption>Rollouts, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Release</th>
                <th scope="col">Status</th>
                <th scope="col">Waves</th>
                <th scope="col">Started</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {releases.data.items.map((release) => (
                <tr key={release.releaseId}>
                  <th scope="row">
                    <Link to={`/console/releases/${encodeURIComponent(release.releaseId)}`}>{release.releaseId}</Link>
                  </th>
                  <td>
                    <StatusBadge status={release.status} />
                  </td>
                  <td>{release.waves.map((wave) => `${wave.kind}: ${wave.state}`).join(' · ')}</td>
                  <td>{formatDateTime(release.startedAt)}</td>
                  <td>{release.actor}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Page>
  );
}

export function ReleaseDetailPage() {
  const releaseId = useParams().releaseId ?? '';
  const queryClient = useQueryClient();
  const release = useQuery({
    queryKey: keys.release(releaseId),
    queryFn: ({ signal }) => api<Rollout>('GET', `/admin/releases/${encodeURIComponent(releaseId)}`, { signal }),
    refetchInterval: (query) => (query.state.data && ACTIVE.has(query.state.data.status) ? 2000 : false),
  });
  const control = useMutation({
    mutationFn: ({ action, reason }: { action: 'abort' | 'rollback' | 'approve'; reason: string }) =>
      api<unknown>('POST', `/admin/releases/${encodeURIComponent(releaseId)}/${action}`, action === 'approve' ? {} : { body: { reason } }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.releases });
      void queryClient.invalidateQueries({ queryKey: keys.cells });
    },
  });
  const data = release.data;
  return (
    <Page title={`Release ${releaseId}`} actions={<Link to="/console/releases">All releases</Link>}>
      <ErrorNotice error={release.error} />
      {release.isPending ? <Loading what="the release" /> : null}
      {data ? (
        <>
          <dl className="facts card console-release-facts">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={data.status} />
            </dd>
            <dt>Commit</dt>
            <dd>{data.commit}</dd>
            <dt>Started</dt>
            <dd>
              {formatDateTime(data.startedAt)} by {data.actor}
            </dd>
            <dt>Finished</dt>
            <dd>{formatDateTime(data.finishedAt)}</dd>
            {data.reason ? (
              <>
                <dt>Why</dt>
                <dd>{data.reason}</dd>
              </>
            ) : null}
            {data.hold ? (
              <>
                <dt>Held</dt>
                <dd>before its {data.hold} waves, until approved</dd>
              </>
            ) : null}
          </dl>
          {data.waves.map((wave) => (
            <section key={wave.index} className="card console-wave" aria-labelledby={`wave-${wave.index}`}>
              <h2 id={`wave-${wave.index}`}>
                Wave {wave.index} ({wave.kind}): {wave.state}
              </h2>
              {wave.verdict ? <div className="notice notice-error">Gate verdict: {wave.verdict}</div> : null}
              <p>
                Deployed {formatDateTime(wave.deployedAt)} · promoted {formatDateTime(wave.promotedAt)}
                {wave.rolledBackAt ? ` · rolled back ${formatDateTime(wave.rolledBackAt)}` : ''}
              </p>
              <div className="table-wrap">
                <table>
                  <caption>Gate figures per cell, wave {wave.index}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Cell</th>
                      <th scope="col">Before</th>
                      <th scope="col" className="number">
                        Requests
                      </th>
                      <th scope="col" className="number">
                        5xx rate
                      </th>
                      <th scope="col" className="number">
                        p99
                      </th>
                      <th scope="col" className="number">
                        Function errors / throttles
                      </th>
                      <th scope="col">Probes passed / failed</th>
                    </tr>
                  </thead>
                  <tbody>
                    {wave.cells.map((cell) => (
                      <tr key={cell.cellId}>
                        <th scope="row">{cell.cellId}</th>
                        <td>{cell.previousReleaseId ?? '—'}</td>
                        <td className="number">{cell.gate ? formatNumber(cell.gate.requests) : '—'}</td>
                        <td className="number">{cell.gate ? `${(cell.gate.serverErrorRate * 100).toFixed(2)}%` : '—'}</td>
                        <td className="number">{cell.gate?.p99LatencyMs != null ? `${formatNumber(Math.round(cell.gate.p99LatencyMs))} ms` : '—'}</td>
                        <td className="number">{cell.gate ? `${cell.gate.functionErrors} / ${cell.gate.functionThrottles}` : '—'}</td>
                        <td>{cell.gate ? `${cell.gate.probes.passed} / ${cell.gate.probes.failed}` : '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
          ))}
          <section aria-labelledby="release-actions">
            <h2 id="release-actions">Actions</h2>
            {control.isSuccess ? <Notice tone="success">Asked; the rollout acts on it at its next step.</Notice> : null}
            <div className="grid">
              {data.status === 'rolling-out' ? (
                <div className="card">
                  <ReasonAction
                    action="Abort release"
                    variant="danger"
                    required
                    confirmText="Abort it? Every wave that has it goes back to its previous release."
                    busy={control.isPending}
                    error={control.error}
                    onSubmit={(reason) => control.mutate({ action: 'abort', reason })}
                  />
                </div>
              ) : null}
              {data.status === 'rolling-out' && data.hold ? (
                <div className="card">
                  <ReasonAction
                    action="Approve dedicated waves"
                    busy={control.isPending}
                    error={control.error}
                    onSubmit={(reason) => control.mutate({ action: 'approve', reason })}
                  />
                </div>
              ) : null}
              {data.status === 'finished' || data.status === 'halted' ? (
                <div className="card">
                  <ReasonAction
                    action="Roll back release"
                    variant="danger"
                    required
                    confirmText="Roll it back? Every cell goes back to its previous release, wave by wave in reverse."
                    busy={control.isPending}
                    error={control.error}
                    onSubmit={(reason) => control.mutate({ action: 'rollback', reason })}
                  />
                </div>
              ) : null}
            </div>
          </section>
        </>
      ) : null}
    </Page>
  );
}
