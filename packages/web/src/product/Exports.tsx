import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client.js';
import { Badge, Button, ErrorNotice, formatBytes, formatDateTime, formatNumber, Loading, Page } from '../ui/kit.js';
import { useScope } from './common.js';
import type { ExportStatus, ExportView } from './types.js';

const UNDER_WAY: readonly ExportStatus[] = ['PENDING', 'RUNNING'];
const STATUS_TEXT: Readonly<Record<ExportStatus, string>> = { PENDING: 'Waiting', RUNNING: 'Being built', READY: 'Ready', FAILED: 'Failed', EXPIRED: 'Expired' };

/** Tenant admins: a ZIP of the organisation's data, built in the background; its parts' links while READY. */
export function Exports() {
  const scope = useScope();
  const queryClient = useQueryClient();
  const exports = useQuery({
    queryKey: [...scope, 'exports'],
    queryFn: ({ signal }) => api<{ items: ExportView[] }>('GET', '/exports', { signal }),
    // Poll only while a job is under way; a finished list does not change by itself.
    refetchInterval: (query) => (query.state.data?.items.some((job) => UNDER_WAY.includes(job.status)) ? 2_000 : false),
  });
  const request = useMutation({
    mutationFn: () => api<ExportView>('POST', '/exports', { body: {} }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: [...scope, 'exports'] }),
  });
  const busy = exports.data?.items.some((job) => UNDER_WAY.includes(job.status)) ?? false;
  return (
    <Page
      title="Export"
      actions={
        <Button busy={request.isPending} disabled={busy} onClick={() => request.mutate()}>
          Export all data
        </Button>
      }
    >
      <p>An export is a ZIP archive of every case, note and evidence file of your organisation. Its links work for 7 days after it is ready.</p>
      <ErrorNotice error={request.error} title="The export was not started." />
      <ErrorNotice error={exports.error} />
      {exports.isPending ? <Loading what="exports" /> : null}
      {exports.data && exports.data.items.length === 0 ? <p className="card">No exports yet. Use “Export all data” to make one.</p> : null}
      {exports.data && exports.data.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Exports, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Requested</th>
                <th scope="col">By</th>
                <th scope="col">Status</th>
                <th scope="col">Contents</th>
                <th scope="col">Download</th>
              </tr>
            </thead>
            <tbody>
              {exports.data.items.map((job) => (
                <tr key={job.exportId}>
                  <th scope="row">{formatDateTime(job.requestedAt)}</th>
                  <td>{job.requestedBy}</td>
                  <td>
                    <Badge tone={job.status === 'READY' ? 'good' : job.status === 'FAILED' ? 'bad' : UNDER_WAY.includes(job.status) ? 'warn' : 'neutral'}>
                      {STATUS_TEXT[job.status]}
                    </Badge>
                    {job.failure ? <p>{job.failure}</p> : null}
                  </td>
                  <td>
                    {job.counts
                      ? `${formatNumber(job.counts.cases)} cases, ${formatNumber(job.counts.notes)} notes, ${formatNumber(job.counts.files)} files (${formatBytes(job.counts.fileBytes)})`
                      : '—'}
                  </td>
                  <td>
                    {job.status === 'READY' ? <ExportLinks exportId={job.exportId} /> : '—'}
                    {job.availableUntil ? <p className="field-hint">Until {formatDateTime(job.availableUntil)}</p> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Page>
  );
}

/**
 * A ready export's parts: the listing carries no links, `GET /exports/{id}` signs fresh ones (each
 * lives 5 minutes), so they are read per job and renewed before they lapse.
 */
function ExportLinks({ exportId }: { exportId: string }) {
  const scope = useScope();
  const job = useQuery({
    queryKey: [...scope, 'export', exportId],
    queryFn: ({ signal }) => api<ExportView>('GET', `/exports/${encodeURIComponent(exportId)}`, { signal }),
    staleTime: 60_000,
    refetchInterval: 4 * 60_000,
  });
  if (job.isPending) return <Loading what="download links" />;
  if (job.isError) return <ErrorNotice error={job.error} />;
  return (
    <ul className="plain-list">
      {job.data.parts.map((part) =>
        part.url ? (
          <li key={part.part}>
            <a href={part.url}>
              Part {part.part} ({formatBytes(part.bytes)})
            </a>
          </li>
        ) : null,
      )}
    </ul>
  );
}
