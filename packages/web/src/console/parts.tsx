/** Pieces the console's screens share: reason forms, inline confirmations, audit trails, status badges. */
import { useState, type FormEvent, type ReactNode } from 'react';
import { Badge, Button, ErrorNotice, formatDateTime, TextArea, TextField } from '../ui/kit.js';
import type { AuditEntry, CellStatus, Money, TenantStatus } from './types.js';

/** `$6.54`, and a loss as `−$30.74` (the API's `usd` is `-30.74`). */
export function formatUsd(money: Money): string {
  return money.micros < 0 ? `−$${money.usd.replace(/^-/, '')}` : `$${money.usd}`;
}

export function TenantStatusBadge({ status }: { status: TenantStatus }) {
  const tone = status === 'ACTIVE' ? 'good' : status === 'SUSPENDED' ? 'bad' : status === 'PENDING' ? 'warn' : 'neutral';
  return <Badge tone={tone}>{status.toLowerCase()}</Badge>;
}

export function CellStatusBadge({ status }: { status: CellStatus }) {
  return <Badge tone={status === 'active' ? 'good' : status === 'draining' ? 'warn' : 'info'}>{status}</Badge>;
}

/**
 * An action that needs a reason and one deliberate click: the reason field, then the action's
 * button. With `required`, the button stays disabled until a reason is written (the API refuses
 * the action without one, or the trail would not say why). `confirmText` adds a second step for
 * destructive actions: the first click asks, the second does it.
 */
export function ReasonAction({
  action,
  required = false,
  variant = 'primary',
  busy,
  error,
  confirmText,
  onSubmit,
  children,
}: {
  action: string;
  required?: boolean;
  variant?: 'primary' | 'secondary' | 'danger';
  busy: boolean;
  error: unknown;
  confirmText?: string;
  onSubmit: (reason: string) => void;
  children?: ReactNode;
}) {
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  const missing = required && reason.trim() === '';
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (missing) return;
    if (confirmText && !confirming) {
      setConfirming(true);
      return;
    }
    setConfirming(false);
    onSubmit(reason.trim());
  };
  return (
    <form className="console-action" onSubmit={submit} aria-label={action}>
      {children}
      <TextArea
        label={required ? `Reason for “${action}” (required)` : `Reason for “${action}” (optional)`}
        value={reason}
        rows={2}
        required={required}
        onChange={(event) => setReason(event.target.value)}
      />
      {confirming ? (
        <div className="notice notice-warning" role="alert">
          <p>{confirmText}</p>
          <div className="console-buttons">
            <Button type="submit" variant="danger" busy={busy}>
              Yes, {action.toLowerCase()}
            </Button>
            <Button variant="secondary" onClick={() => setConfirming(false)}>
              Cancel
            </Button>
          </div>
        </div>
      ) : (
        <Button type="submit" variant={variant} busy={busy} disabled={missing}>
          {action}
        </Button>
      )}
      <ErrorNotice error={error} />
    </form>
  );
}

/** A typed confirmation: the button only works once `expected` is typed exactly. */
export function TypedConfirm({
  label,
  expected,
  action,
  busy,
  error,
  onConfirm,
}: {
  label: string;
  expected: string;
  action: string;
  busy: boolean;
  error: unknown;
  onConfirm: (reason: string) => void;
}) {
  const [typed, setTyped] = useState('');
  const [reason, setReason] = useState('');
  const matches = typed === expected;
  return (
    <form
      className="console-action"
      aria-label={action}
      onSubmit={(event) => {
        event.preventDefault();
        if (matches) onConfirm(reason.trim());
      }}
    >
      <TextField label={label} value={typed} autoComplete="off" onChange={(event) => setTyped(event.target.value)} />
      <TextArea label={`Reason for “${action}” (optional)`} value={reason} rows={2} onChange={(event) => setReason(event.target.value)} />
      <Button type="submit" variant="danger" busy={busy} disabled={!matches}>
        {action}
      </Button>
      <ErrorNotice error={error} />
    </form>
  );
}

function describeChange(value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (typeof value !== 'object') return String(value);
  return Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && !(typeof v === 'object' && v !== null && Object.keys(v).length === 0))
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

export function AuditTrail({ title, items, empty }: { title: string; items: readonly AuditEntry[]; empty: string }) {
  if (items.length === 0) return <p>{empty}</p>;
  return (
    <div className="table-wrap">
      <table>
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
            <th scope="col">Why</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
          </tr>
        </thead>
        <tbody>
          {items.map((entry, index) => (
            <tr key={entry.auditId ?? `${entry.at}-${index}`}>
              <td>{formatDateTime(entry.at)}</td>
              <td>{entry.actor}</td>
              <th scope="row">{entry.action}</th>
              <td>{entry.reason ?? '—'}</td>
              <td className="console-change">{describeChange(entry.before)}</td>
              <td className="console-change">{describeChange(entry.after)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
