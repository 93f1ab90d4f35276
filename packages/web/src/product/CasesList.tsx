import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { api } from '../api/client.js';
import { Badge, ErrorNotice, formatDateTime, Loading, Page } from '../ui/kit.js';
import { Pager, useCursorStack, useScope } from './common.js';
import { CASE_STATUSES, PRIORITY_LABELS, STATUS_LABELS, type CaseStatus, type CaseView, type Page as ApiPage } from './types.js';

const PAGE_SIZE = 20;

export function statusTone(status: CaseStatus): 'info' | 'warn' | 'good' | 'neutral' {
  return status === 'OPEN' ? 'info' : status === 'IN_PROGRESS' ? 'warn' : status === 'RESOLVED' ? 'good' : 'neutral';
}

/** The tenant's cases, open work first; a status filter and paging by the API's cursor. */
export function CasesList() {
  const scope = useScope();
  const [params, setParams] = useSearchParams();
  const raw = params.get('status');
  const status = CASE_STATUSES.find((candidate) => candidate === raw);
  const pages = useCursorStack();
  const cases = useQuery({
    queryKey: [...scope, 'cases', { status, cursor: pages.cursor }],
    queryFn: ({ signal }) => api<ApiPage<CaseView>>('GET', '/cases', { signal, query: { status, limit: PAGE_SIZE, cursor: pages.cursor } }),
    placeholderData: keepPreviousData,
  });

  return (
    <Page
      title="Cases"
      actions={
        <Link className="button button-primary" to="/cases/new">
          New case
        </Link>
      }
    >
      <div className="inline-form">
        <div className="field">
          <label htmlFor="status-filter">Status</label>
          <select
            id="status-filter"
            value={status ?? ''}
            onChange={(event) => {
              // A cursor belongs to the listing that issued it: a new filter starts at page one.
              pages.reset();
              setParams(event.target.value ? { status: event.target.value } : {});
            }}
          >
            <option value="">All statuses</option>
            {CASE_STATUSES.map((value) => (
              <option key={value} value={value}>
                {STATUS_LABELS[value]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorNotice error={cases.error} />
      {cases.isPending ? <Loading what="cases" /> : null}
      {cases.data && cases.data.items.length === 0 ? (
        <p className="card">
          {status ? `No ${STATUS_LABELS[status].toLowerCase()} cases. Choose another status to see more.` : 'No cases yet. Create the first one with “New case”.'}
        </p>
      ) : null}
      {cases.data && cases.data.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">
              Cases{status ? `, ${STATUS_LABELS[status]}` : ''}, page {pages.page}
            </caption>
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Status</th>
                <th scope="col">Priority</th>
                <th scope="col">Assignee</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {cases.data.items.map((item) => (
                <tr key={item.caseId}>
                  <th scope="row">
                    <Link to={`/cases/${item.caseId}`}>{item.title}</Link>
                  </th>
                  <td>
                    <Badge tone={statusTone(item.status)}>{STATUS_LABELS[item.status]}</Badge>
                  </td>
                  <td>{PRIORITY_LABELS[item.priority]}</td>
                  <td>{item.assignee ?? 'Unassigned'}</td>
                  <td>{formatDateTime(item.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager label="Cases pages" page={pages.page} nextCursor={cases.data?.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
    </Page>
  );
}
