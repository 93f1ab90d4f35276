import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import { BarChart, SERIES_COLORS } from '../ui/charts.js';
import { Button, ErrorNotice, formatDateTime, formatNumber, Loading, Notice, Page, TextField } from '../ui/kit.js';
import { useIsAdmin, useScope } from './common.js';
import { CASE_STATUSES, STATUS_LABELS, type AnalyticsReport, type AnalyticsSettings } from './types.js';

function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

/** Premium and up: the last 30 days of case flow, open work by status, time to resolve, work past its target age. */
export function Analytics() {
  const scope = useScope();
  const isAdmin = useIsAdmin();
  const report = useQuery({ queryKey: [...scope, 'analytics'], queryFn: ({ signal }) => api<AnalyticsReport>('GET', '/analytics', { signal }) });
  return (
    <Page title="Analytics">
      <ErrorNotice error={report.error} />
      {report.isPending ? <Loading what="analytics" /> : null}
      {report.data ? (
        <>
          <p>
            From {report.data.range.from} to {report.data.range.to} (UTC days).
          </p>
          <BarChart
            title="Cases per day"
            rows={report.data.daily.map((day) => ({ label: day.date, values: { created: day.created, resolved: day.resolved, reopened: day.reopened } }))}
            series={[
              { key: 'created', label: 'Created', color: SERIES_COLORS[0] },
              { key: 'resolved', label: 'Resolved', color: SERIES_COLORS[2] },
              { key: 'reopened', label: 'Reopened', color: SERIES_COLORS[1] },
            ]}
            emptyText="No case was created, resolved or reopened in this period."
          />
          <BarChart
            title="Cases by status"
            rows={CASE_STATUSES.map((status) => ({ label: STATUS_LABELS[status], values: { total: report.data.cases.byStatus[status]?.total ?? 0 } }))}
            series={[{ key: 'total', label: 'Cases', color: SERIES_COLORS[0] }]}
            emptyText="No cases yet."
          />
          <div className="grid">
            <section className="card" aria-labelledby="resolve-title">
              <h2 id="resolve-title">Time to resolve</h2>
              <dl className="facts">
                <dt>Resolutions</dt>
                <dd>{formatNumber(report.data.timeToResolve.resolutions)}</dd>
                <dt>Median</dt>
                <dd>{duration(report.data.timeToResolve.p50Seconds)}</dd>
                <dt>90th percentile</dt>
                <dd>{duration(report.data.timeToResolve.p90Seconds)}</dd>
              </dl>
            </section>
            <section className="card" aria-labelledby="age-title">
              <h2 id="age-title">Past target age</h2>
              <p>
                <strong>{formatNumber(report.data.pastTargetAge.count)}</strong> unresolved {report.data.pastTargetAge.count === 1 ? 'case is' : 'cases are'} older than{' '}
                {report.data.pastTargetAge.targetAgeHours} hours (as of {formatDateTime(report.data.pastTargetAge.asOf)}).
              </p>
              <p>Active cases: {formatNumber(report.data.cases.active)}.</p>
              {isAdmin ? <TargetAge /> : null}
            </section>
          </div>
        </>
      ) : null}
    </Page>
  );
}

function TargetAge() {
  const scope = useScope();
  const queryClient = useQueryClient();
  const settings = useQuery({ queryKey: [...scope, 'analytics-settings'], queryFn: ({ signal }) => api<AnalyticsSettings>('GET', '/analytics/settings', { signal }) });
  const [hours, setHours] = useState('');
  const save = useMutation({
    mutationFn: (targetAgeHours: number) => api<AnalyticsSettings>('PATCH', '/analytics/settings', { body: { targetAgeHours } }),
    onSuccess: (saved) => {
      queryClient.setQueryData([...scope, 'analytics-settings'], saved);
      setHours('');
      void queryClient.invalidateQueries({ queryKey: [...scope, 'analytics'] });
    },
  });
  const value = hours === '' ? String(settings.data?.targetAgeHours ?? '') : hours;
  const parsed = Number(value);
  const invalid = value !== '' && (!Number.isInteger(parsed) || parsed < 1 || parsed > 8760);
  function submit(event: FormEvent) {
    event.preventDefault();
    if (!invalid && value !== '') save.mutate(parsed);
  }
  return (
    <form className="inline-form" onSubmit={submit}>
      <TextField
        label="Target age (hours)"
        name="target-age"
        type="number"
        inputMode="numeric"
        min={1}
        max={8760}
        value={value}
        onChange={(event) => setHours(event.target.value)}
        problem={invalid ? 'A whole number of hours from 1 to 8760.' : undefined}
      />
      <Button type="submit" variant="secondary" busy={save.isPending} disabled={invalid || settings.isPending}>
        Save target age
      </Button>
      <ErrorNotice error={settings.error ?? save.error} />
      {save.isSuccess ? <Notice tone="success">Target age saved.</Notice> : null}
    </form>
  );
}
