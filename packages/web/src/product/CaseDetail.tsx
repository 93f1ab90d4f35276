import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import { Badge, Button, ErrorNotice, formatDateTime, Loading, Notice, Page, SelectField, TextArea, TextField } from '../ui/kit.js';
import { useSession } from '../ui/session.js';
import { statusTone } from './CasesList.js';
import { useIsAdmin, useMe, useScope } from './common.js';
import { EvidenceSection } from './Evidence.js';
import {
  NEXT_STATUSES,
  PRIORITIES,
  PRIORITY_LABELS,
  STATUS_LABELS,
  type CaseStatus,
  type CaseView,
  type NoteView,
  type Page as ApiPage,
  type Priority,
  type UserView,
} from './types.js';

type CaseChange = Partial<Pick<CaseView, 'status' | 'title' | 'priority' | 'assignee'>>;

function moveLabel(from: CaseStatus, to: CaseStatus): string {
  if (to === 'OPEN') return from === 'IN_PROGRESS' ? 'Stop work (back to Open)' : 'Reopen';
  if (to === 'IN_PROGRESS') return 'Start work';
  if (to === 'RESOLVED') return 'Mark resolved';
  return 'Close';
}

/** One case: its facts, edits, the status moves the API allows from here, assignee, notes and evidence. */
export function CaseDetail() {
  const { caseId = '' } = useParams();
  const scope = useScope();
  const queryClient = useQueryClient();
  const me = useMe();
  const item = useQuery({ queryKey: [...scope, 'case', caseId], queryFn: ({ signal }) => api<CaseView>('GET', `/cases/${encodeURIComponent(caseId)}`, { signal }) });
  const change = useMutation({
    mutationFn: (body: CaseChange) => api<CaseView>('PATCH', `/cases/${encodeURIComponent(caseId)}`, { body }),
    onSuccess: (updated) => {
      queryClient.setQueryData([...scope, 'case', caseId], updated);
      void queryClient.invalidateQueries({ queryKey: [...scope, 'cases'] });
    },
  });

  if (item.isPending) return <Loading what="the case" />;
  if (item.isError) {
    // Another tenant's case answers 404 like a case that never existed; the page says only that.
    const notFound = item.error instanceof ApiError && (item.error.status === 404 || item.error.status === 422);
    return (
      <Page title={notFound ? 'Case not found' : 'Case'}>
        {notFound ? <p>No case with this address exists in your organisation.</p> : <ErrorNotice error={item.error} />}
        <p>
          <Link to="/cases">Back to the cases</Link>
        </p>
      </Page>
    );
  }
  const current = item.data;
  const features = me.data?.entitlements.features ?? [];
  return (
    <Page title={current.title}>
      <p>
        <Link to="/cases">Back to the cases</Link>
      </p>
      <ErrorNotice error={change.error} title="The change was not saved." />
      <div className="grid">
        <section className="card" aria-labelledby="facts-title">
          <h2 id="facts-title">Details</h2>
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              <Badge tone={statusTone(current.status)}>{STATUS_LABELS[current.status]}</Badge>
            </dd>
            <dt>Priority</dt>
            <dd>{PRIORITY_LABELS[current.priority]}</dd>
            <dt>Assignee</dt>
            <dd>{current.assignee ?? 'Unassigned'}</dd>
            <dt>Created</dt>
            <dd>{formatDateTime(current.createdAt)}</dd>
            <dt>Updated</dt>
            <dd>{formatDateTime(current.updatedAt)}</dd>
          </dl>
          {current.description ? <p className="case-description">{current.description}</p> : null}
        </section>
        <section className="card" aria-labelledby="status-title">
          <h2 id="status-title">Status</h2>
          <p>
            Now <strong>{STATUS_LABELS[current.status]}</strong>.
          </p>
          <div className="inline-form">
            {NEXT_STATUSES[current.status].map((to) => (
              <Button key={to} variant={to === 'OPEN' ? 'secondary' : 'primary'} busy={change.isPending} onClick={() => change.mutate({ status: to })}>
                {moveLabel(current.status, to)}
              </Button>
            ))}
          </div>
          <Assignee current={current} busy={change.isPending} onAssign={(assignee) => change.mutate({ assignee })} />
        </section>
      </div>
      <EditCase key={current.updatedAt} current={current} busy={change.isPending} onSave={(body) => change.mutate(body)} />
      <Notes caseId={caseId} />
      {features.includes('evidence') ? <EvidenceSection caseId={caseId} /> : null}
    </Page>
  );
}

function EditCase({ current, busy, onSave }: { current: CaseView; busy: boolean; onSave: (body: CaseChange) => void }) {
  const [title, setTitle] = useState(current.title);
  const [priority, setPriority] = useState<Priority>(current.priority);
  const changed = title.trim() !== current.title || priority !== current.priority;
  function submit(event: FormEvent) {
    event.preventDefault();
    const body: CaseChange = {};
    if (title.trim() !== current.title) body.title = title.trim();
    if (priority !== current.priority) body.priority = priority;
    onSave(body);
  }
  return (
    <section className="card" aria-labelledby="edit-title">
      <h2 id="edit-title">Edit</h2>
      <form className="inline-form" onSubmit={submit}>
        <TextField label="Title" name="title" value={title} onChange={(event) => setTitle(event.target.value)} maxLength={200} required />
        <SelectField
          label="Priority"
          name="priority"
          value={priority}
          onChange={(event) => setPriority(event.target.value as Priority)}
          options={PRIORITIES.map((value) => ({ value, label: PRIORITY_LABELS[value] }))}
        />
        <Button type="submit" busy={busy} disabled={!changed || title.trim() === ''}>
          Save changes
        </Button>
      </form>
    </section>
  );
}

/**
 * Admins pick any user of the tenant (`GET /users` is admin-only); a user sees the assignee and can
 * take the case themselves or let it go.
 */
function Assignee({ current, busy, onAssign }: { current: CaseView; busy: boolean; onAssign: (assignee: string | null) => void }) {
  const isAdmin = useIsAdmin();
  const session = useSession();
  const scope = useScope();
  const users = useQuery({
    queryKey: [...scope, 'users'],
    queryFn: ({ signal }) => api<{ items: UserView[] }>('GET', '/users', { signal }),
    enabled: isAdmin,
  });
  const [choice, setChoice] = useState(current.assignee ?? '');
  const me = session?.username.toLowerCase() ?? '';
  if (!isAdmin) {
    return (
      <div className="inline-form">
        {current.assignee === me ? (
          <Button variant="secondary" busy={busy} onClick={() => onAssign(null)}>
            Unassign me
          </Button>
        ) : (
          <Button variant="secondary" busy={busy} onClick={() => onAssign(me)}>
            Assign to me
          </Button>
        )}
      </div>
    );
  }
  const options = [{ value: '', label: 'Unassigned' }, ...(users.data?.items ?? []).map((user) => ({ value: user.username, label: user.email }))];
  if (current.assignee && !options.some((option) => option.value === current.assignee)) options.push({ value: current.assignee, label: current.assignee });
  return (
    <form
      className="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        onAssign(choice || null);
      }}
    >
      <ErrorNotice error={users.error} />
      <SelectField label="Assignee" name="assignee" value={choice} onChange={(event) => setChoice(event.target.value)} options={options} />
      <Button type="submit" variant="secondary" busy={busy} disabled={choice === (current.assignee ?? '')}>
        Assign
      </Button>
    </form>
  );
}

function Notes({ caseId }: { caseId: string }) {
  const scope = useScope();
  const queryClient = useQueryClient();
  const [body, setBody] = useState('');
  const notes = useQuery({
    queryKey: [...scope, 'notes', caseId],
    queryFn: ({ signal }) => api<ApiPage<NoteView>>('GET', `/cases/${encodeURIComponent(caseId)}/notes`, { signal, query: { limit: 100 } }),
  });
  const add = useMutation({
    mutationFn: () => api<NoteView>('POST', `/cases/${encodeURIComponent(caseId)}/notes`, { body: { body } }),
    onSuccess: () => {
      setBody('');
      void queryClient.invalidateQueries({ queryKey: [...scope, 'notes', caseId] });
    },
  });
  return (
    <section className="card" aria-labelledby="notes-title">
      <h2 id="notes-title">Notes</h2>
      <ErrorNotice error={notes.error} />
      {notes.isPending ? <Loading what="notes" /> : null}
      {notes.data && notes.data.items.length === 0 ? <p>No notes yet. Add what you found or did below.</p> : null}
      {notes.data && notes.data.items.length > 0 ? (
        <ol className="notes">
          {notes.data.items.map((note) => (
            <li key={note.noteId}>
              <p className="note-meta">
                {note.author}, {formatDateTime(note.createdAt)}
              </p>
              <p className="note-body">{note.body}</p>
            </li>
          ))}
        </ol>
      ) : null}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (body.trim()) add.mutate();
        }}
      >
        <ErrorNotice error={add.error} title="The note was not added." />
        {add.isSuccess ? <Notice tone="success">Note added.</Notice> : null}
        <TextArea label="New note" name="note" rows={3} value={body} onChange={(event) => setBody(event.target.value)} maxLength={10_000} />
        <Button type="submit" busy={add.isPending} disabled={body.trim() === ''}>
          Add note
        </Button>
      </form>
    </section>
  );
}
