import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import { Badge, Button, ErrorNotice, formatBytes, formatDateTime, Loading, Notice } from '../ui/kit.js';
import { useScope } from './common.js';
import type { EvidenceUpload, EvidenceView, EvidenceWithDownload, Page as ApiPage } from './types.js';

async function sha256Hex(file: Blob): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Uploads one file as DESIGN §11 has it: the API records the evidence and answers a presigned PUT
 * (content type, length and checksum signed), the browser sends the bytes straight to S3, and the
 * API then checks the stored object before the file becomes AVAILABLE.
 */
async function upload(caseId: string, file: File, onStep: (step: string) => void): Promise<EvidenceView> {
  onStep('Computing the file’s fingerprint…');
  const sha256 = await sha256Hex(file);
  onStep('Recording the upload…');
  const base = `/cases/${encodeURIComponent(caseId)}/evidence`;
  const created = await api<EvidenceUpload>('POST', base, { body: { name: file.name, contentType: file.type || 'application/octet-stream', size: file.size, sha256 } });
  onStep('Sending the file…');
  let stored: Response;
  try {
    stored = await fetch(created.upload.url, { method: created.upload.method, headers: created.upload.headers, body: file });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The file could not be sent to storage.');
  }
  if (!stored.ok) throw new ApiError(stored.status, 'UPLOAD_FAILED', `Storage refused the file (${stored.status}). Try again.`);
  onStep('Checking the stored file…');
  return api<EvidenceView>('POST', `${base}/${created.evidenceId}/complete`);
}

export function EvidenceSection({ caseId }: { caseId: string }) {
  const scope = useScope();
  const queryClient = useQueryClient();
  const fileInput = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File>();
  const [step, setStep] = useState('');
  const key = [...scope, 'evidence', caseId];
  const evidence = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => api<ApiPage<EvidenceView>>('GET', `/cases/${encodeURIComponent(caseId)}/evidence`, { signal, query: { limit: 100 } }),
  });
  const send = useMutation({
    mutationFn: (chosen: File) => upload(caseId, chosen, setStep),
    onSettled: () => {
      setStep('');
      void queryClient.invalidateQueries({ queryKey: key });
    },
    onSuccess: () => {
      setFile(undefined);
      if (fileInput.current) fileInput.current.value = '';
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (file) send.mutate(file);
  }

  return (
    <section className="card" aria-labelledby="evidence-title">
      <h2 id="evidence-title">Evidence</h2>
      <ErrorNotice error={evidence.error} />
      {evidence.isPending ? <Loading what="evidence" /> : null}
      {evidence.data && evidence.data.items.length === 0 ? <p>No files yet. Attach documents, pictures or recordings below.</p> : null}
      {evidence.data && evidence.data.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Evidence files</caption>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Size</th>
                <th scope="col">Status</th>
                <th scope="col">Added</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {evidence.data.items.map((item) => (
                <EvidenceRow key={item.evidenceId} item={item} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <form className="inline-form" onSubmit={submit}>
        <div className="field">
          <label htmlFor="evidence-file">File to attach</label>
          <input id="evidence-file" ref={fileInput} type="file" onChange={(event) => setFile(event.target.files?.[0])} />
        </div>
        <Button type="submit" busy={send.isPending} disabled={!file}>
          Upload
        </Button>
      </form>
      {step ? <Notice>{step}</Notice> : null}
      {send.isSuccess ? <Notice tone="success">{send.data.name} is stored.</Notice> : null}
      <ErrorNotice error={send.error} title="The file was not stored." />
    </section>
  );
}

function EvidenceRow({ item }: { item: EvidenceView }) {
  const scope = useScope();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const path = `/cases/${encodeURIComponent(item.caseId)}/evidence/${encodeURIComponent(item.evidenceId)}`;
  // The link is asked for on demand: it lives five minutes.
  const link = useMutation({ mutationFn: () => api<EvidenceWithDownload>('GET', path) });
  const remove = useMutation({
    mutationFn: () => api<void>('DELETE', path),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: [...scope, 'evidence', item.caseId] }),
  });
  const url = link.data?.download?.url;
  return (
    <tr>
      <th scope="row">{item.name}</th>
      <td>{formatBytes(item.size)}</td>
      <td>
        <Badge tone={item.status === 'AVAILABLE' ? 'good' : 'warn'}>{item.status === 'AVAILABLE' ? 'Available' : 'Upload not finished'}</Badge>
      </td>
      <td>{formatDateTime(item.createdAt)}</td>
      <td>
        <div className="inline-form">
          {item.status === 'AVAILABLE' && !url ? (
            <Button variant="secondary" busy={link.isPending} onClick={() => link.mutate()} aria-label={`Get download link: ${item.name}`}>
              Get download link
            </Button>
          ) : null}
          {url ? (
            <a href={url} download={item.name}>
              Download {item.name}
            </a>
          ) : null}
          {confirming ? (
            <>
              <Button variant="danger" busy={remove.isPending} onClick={() => remove.mutate()}>
                Yes, delete {item.name}
              </Button>
              <Button variant="secondary" onClick={() => setConfirming(false)}>
                Keep it
              </Button>
            </>
          ) : (
            <Button variant="secondary" onClick={() => setConfirming(true)} aria-label={`Delete: ${item.name}`}>
              Delete
            </Button>
          )}
        </div>
        <ErrorNotice error={link.error ?? remove.error} />
      </td>
    </tr>
  );
}
