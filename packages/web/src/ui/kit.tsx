/**
 * The app's small component kit: native elements, labelled and keyboard-usable, styled by styles.css.
 * Screens compose these rather than styling their own, so every screen passes the same axe checks.
 */
import { useEffect, useId, useRef, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';
import { ApiError, describeError } from '../api/errors.js';

/**
 * A screen: its title is the document's title too, and its heading takes the focus when the screen
 * appears, so a screen-reader or keyboard user lands on the new page after a client-side navigation
 * (there is no page load to announce it).
 */
export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Cellbook`;
  }, [title]);
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
  }, []);
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-header">
        <h1 id="page-title" ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

export function Button({
  variant = 'primary',
  busy = false,
  children,
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: 'primary' | 'secondary' | 'danger'; busy?: boolean }) {
  return (
    <button type="button" className={`button button-${variant}`} aria-busy={busy || undefined} {...props} disabled={busy || props.disabled}>
      {children}
    </button>
  );
}

interface FieldProps {
  label: string;
  hint?: string;
  /** A problem with this field, said next to it. */
  problem?: string;
}

function FieldFrame({ id, label, hint, problem, children }: FieldProps & { id: string; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {problem ? (
        <p className="field-problem" id={`${id}-problem`}>
          {problem}
        </p>
      ) : null}
    </div>
  );
}

function describedBy(id: string, { hint, problem }: FieldProps): string | undefined {
  return [hint ? `${id}-hint` : '', problem ? `${id}-problem` : ''].filter(Boolean).join(' ') || undefined;
}

export function TextField({ label, hint, problem, ...props }: FieldProps & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <FieldFrame id={id} label={label} hint={hint} problem={problem}>
      <input id={id} aria-invalid={problem ? true : undefined} aria-describedby={describedBy(id, { label, hint, problem })} {...props} />
    </FieldFrame>
  );
}

export function TextArea({ label, hint, problem, ...props }: FieldProps & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const id = useId();
  return (
    <FieldFrame id={id} label={label} hint={hint} problem={problem}>
      <textarea id={id} aria-invalid={problem ? true : undefined} aria-describedby={describedBy(id, { label, hint, problem })} {...props} />
    </FieldFrame>
  );
}

export function SelectField({
  label,
  hint,
  problem,
  options,
  ...props
}: FieldProps & SelectHTMLAttributes<HTMLSelectElement> & { options: readonly { value: string; label: string }[] }) {
  const id = useId();
  return (
    <FieldFrame id={id} label={label} hint={hint} problem={problem}>
      <select id={id} aria-invalid={problem ? true : undefined} aria-describedby={describedBy(id, { label, hint, problem })} {...props}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </FieldFrame>
  );
}

/** An API failure, in words (role=alert: a screen reader hears it when it appears). */
export function ErrorNotice({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <div className="notice notice-error" role="alert">
      {title ? <strong>{title} </strong> : null}
      {describeError(error)}
      {error instanceof ApiError && error.details.length > 0 ? (
        <ul className="notice-details">
          {error.details.map((detail) => (
            <li key={`${detail.path ?? ''}:${detail.message}`}>{detail.path ? `${fieldName(detail.path)}: ${detail.message}` : detail.message}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** `adminEmail` → "admin email", `body.title` → "title": the field as a person reads it. */
function fieldName(path: string): string {
  const last =
    path
      .split(/[.[\]/]/)
      .filter(Boolean)
      .pop() ?? path;
  return last.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** A success or progress message, announced politely. */
export function Notice({ children, tone = 'info' }: { children: ReactNode; tone?: 'info' | 'success' | 'warning' }) {
  return (
    <div className={`notice notice-${tone}`} role="status">
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** A status or tier as a small label; the text carries the meaning, the colour only repeats it. */
export function Badge({ children, tone = 'neutral' }: { children: ReactNode; tone?: 'neutral' | 'good' | 'warn' | 'bad' | 'info' }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

/** A figure against its limit (`null` limit = unlimited), as a labelled meter and words. */
export function UsageMeter({ label, used, limit, unit = '' }: { label: string; used: number; limit: number | null; unit?: string }) {
  const id = useId();
  const share = limit ? Math.min(1, used / limit) : 0;
  const tone = limit && share >= 0.9 ? 'bad' : limit && share >= 0.75 ? 'warn' : 'good';
  return (
    <div className="usage-meter">
      <span id={id}>{label}</span>
      {limit !== null ? <meter aria-labelledby={id} min={0} max={limit} value={Math.min(used, limit)} low={limit * 0.75} high={limit * 0.9} optimum={0} /> : null}
      <span className={`usage-figure usage-${tone}`}>
        {formatNumber(used)}
        {unit} {limit === null ? '(unlimited)' : `of ${formatNumber(limit)}${unit}`}
      </span>
    </div>
  );
}

export function formatNumber(value: number): string {
  return new Intl.NumberFormat('en').format(value);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatDateTime(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}
