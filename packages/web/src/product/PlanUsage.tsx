import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client.js';
import { Badge, ErrorNotice, formatBytes, Loading, Page, UsageMeter } from '../ui/kit.js';
import { useMe, useScope } from './common.js';
import type { Feature, PlanUsage as Usage } from './types.js';

const FEATURE_LABELS: Readonly<Record<Feature, string>> = {
  cases: 'Cases',
  notes: 'Notes',
  evidence: 'Evidence files',
  export: 'Self-service export',
  analytics: 'Analytics',
  'audit-log': 'Audit log',
};

/** The tenant's plan (tier, features) and today's use of each of its limits. */
export function PlanUsage() {
  const scope = useScope();
  const me = useMe();
  const usage = useQuery({ queryKey: [...scope, 'usage'], queryFn: ({ signal }) => api<Usage>('GET', '/me/usage', { signal }) });
  const features = me.data?.entitlements.features ?? [];
  return (
    <Page title="Plan & usage">
      <ErrorNotice error={me.error ?? usage.error} />
      {me.isPending ? <Loading what="your plan" /> : null}
      {me.data ? (
        <section className="card" aria-labelledby="plan-title">
          <h2 id="plan-title">Plan</h2>
          <p>
            Your organisation is on the <Badge tone="info">{me.data.tier}</Badge> plan. You are {me.data.roles.includes('admin') ? 'an administrator' : 'a user'}.
          </p>
          <h3>Included</h3>
          <ul className="feature-list">
            {(Object.keys(FEATURE_LABELS) as Feature[]).map((feature) => (
              <li key={feature}>
                {FEATURE_LABELS[feature]}: {features.includes(feature) ? 'included' : 'not included'}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {usage.isPending ? <Loading what="usage" /> : null}
      {usage.data ? (
        <section className="card" aria-labelledby="usage-title">
          <h2 id="usage-title">Usage</h2>
          <UsageMeter label={`Requests today (${usage.data.day}, UTC)`} used={usage.data.requests.used} limit={usage.data.requests.limit} />
          <UsageMeter label="Active cases" used={usage.data.activeCases.used} limit={usage.data.activeCases.limit} />
          <UsageMeter label="Users" used={usage.data.users.used} limit={usage.data.users.limit} />
          {features.includes('evidence') ? (
            <p>
              Evidence stored: {formatBytes(usage.data.evidenceBytes.used)}
              {usage.data.evidenceBytes.limit === null ? ' (unlimited)' : ` of ${formatBytes(usage.data.evidenceBytes.limit)}`}
            </p>
          ) : null}
          <p className="field-hint">Requests are counted a few seconds behind.</p>
        </section>
      ) : null}
    </Page>
  );
}
