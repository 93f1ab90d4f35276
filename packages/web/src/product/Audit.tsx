import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import { Badge, Button, ErrorNotice, formatDateTime, Loading, Page, SelectField, TextField } from '../ui/kit.js';
import { Pager, useCursorStack, useScope } from './common.js';
import { AUDIT_TARGET_TYPES, type AuditRecord, type Page as ApiPage } from './types.js';

interface Filters {
  actor: string;
  action: string;
  targetType: string;
  outcome: string;
}

const NO_FILTERS: Filters = { actor: '', action: '', targetType: '', outcome: '' };

/** Premium tenant admins: who did what in the organisation, newest first, with filters and paging. */
export function Audit() {
  const scope = useScope();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const pages = useCursorStack();
  const trail = useQuery({
    queryKey: [...scope, 'audit', filters, pages.cursor],
    queryFn: ({ signal }) =>
      api<ApiPage<AuditRecord>>('GET', '/audit', {
        signal,
        query: {
          limit: 25,
          cursor: pages.cursor,
          actor: filters.actor.trim().toLowerCase(),
          action: filters.action.trim(),
          targetType: filters.targetType,
          outcome: filters.outcome,
        },
      }),
    placeholderData: keepPreviousData,
  });
  function apply(event: FormEvent) {
    event.preventDefault();
    // A cursor belongs to the filters that issued it.
    pages.reset();
    setFilters(draft);
  }
  return (
    <Page title="Audit log">
      <form className="inline-form card" onSubmit={apply} aria-label="Filter the audit log">
        <TextField label="Who (e-mail)" name="actor" value={draft.actor} onChange={(event) => setDraft({ ...draft, actor: event.target.value })} />
        <TextField label="Action" name="action" hint="For example case.create" value={draft.action} onChange={(event) => setDraft({ ...draft, action: event.target.value })} />
        <SelectField
          label="About"
          name="targetType"
          value={draft.targetType}
          onChange={(event) => setDraft({ ...draft, targetType: event.target.value })}
          options={[{ value: '', label: 'Anything' }, ...AUDIT_TARGET_TYPES.map((type) => ({ value: type, label: type }))]}
        />
        <SelectField
          label="Outcome"
          name="outcome"
          value={draft.outcome}
          onChange={(event) => setDraft({ ...draft, outcome: event.target.value })}
          options={[
            { value: '', label: 'Any' },
            { value: 'succeeded', label: 'Succeeded' },
            { value: 'failed', label: 'Failed' },
            { value: 'pending', label: 'Pending' },
          ]}
        />
        <Button type="submit">Apply filters</Button>
      </form>
      <ErrorNotice error={trail.error} />
      {trail.isPending ? <Loading what="the audit log" /> : null}
      {trail.data && trail.data.items.length === 0 ? <p className="card">Nothing recorded matches these filters.</p> : null}
      {trail.data && trail.data.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Audit records, newest first, page {pages.page}</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">About</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {trail.data.items.map((record) => (
                <tr key={record.auditId}>
                  <th scope="row">{formatDateTime(record.at)}</th>
                  <td>{record.actor}</td>
                  <td>{record.action}</td>
                  <td>
                    {record.target.type}
                    {record.target.id ? ` ${record.target.id}` : ''}
                  </td>
                  <td>
                    <Badge tone={record.outcome === 'succeeded' ? 'good' : record.outcome === 'failed' ? 'bad' : 'warn'}>{record.outcome}</Badge>
                    {record.status ? ` ${record.status}` : ''}
                    {record.errorCode ? ` ${record.errorCode}` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager label="Audit log pages" page={pages.page} nextCursor={trail.data?.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
    </Page>
  );
}
