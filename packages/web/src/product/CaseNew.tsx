import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { api } from '../api/client.js';
import { Button, ErrorNotice, Page, SelectField, TextArea, TextField } from '../ui/kit.js';
import { useScope } from './common.js';
import { PRIORITIES, PRIORITY_LABELS, type CaseView, type Priority } from './types.js';

export function CaseNew() {
  const scope = useScope();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [priority, setPriority] = useState<Priority>('medium');
  const create = useMutation({
    mutationFn: () => api<CaseView>('POST', '/cases', { body: { title: title.trim(), priority, ...(description.trim() ? { description } : {}) } }),
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: [...scope, 'cases'] });
      queryClient.setQueryData([...scope, 'case', created.caseId], created);
      navigate(`/cases/${created.caseId}`);
    },
  });
  const missingTitle = create.isError && title.trim() === '';

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate();
  }

  return (
    <Page title="New case">
      <form className="card" onSubmit={submit}>
        <ErrorNotice error={create.error} title="The case was not created." />
        <TextField
          label="Title"
          name="title"
          value={title}
          onChange={(event) => setTitle(event.target.value)}
          required
          maxLength={200}
          problem={missingTitle ? 'Give the case a title.' : undefined}
        />
        <TextArea
          label="Description"
          name="description"
          hint="Optional."
          rows={5}
          value={description}
          onChange={(event) => setDescription(event.target.value)}
          maxLength={10_000}
        />
        <SelectField
          label="Priority"
          name="priority"
          value={priority}
          onChange={(event) => setPriority(event.target.value as Priority)}
          options={PRIORITIES.map((value) => ({ value, label: PRIORITY_LABELS[value] }))}
        />
        <div className="inline-form">
          <Button type="submit" busy={create.isPending}>
            Create case
          </Button>
          <Link to="/cases">Cancel</Link>
        </div>
      </form>
    </Page>
  );
}
