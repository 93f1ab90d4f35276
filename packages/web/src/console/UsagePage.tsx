/** Usage and cost by tenant, tier or cell (chart, table, CSV), and the error budgets burning (SLO). */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api } from '../api/client.js';
import { BarChart, SERIES_COLORS } from '../ui/charts.js';
import { Button, ErrorNotice, formatDateTime, formatNumber, Loading, Page, SelectField } from '../ui/kit.js';
import { keys, offerDownload, rawGet, useAllTenants } from './data.js';
import { formatUsd } from './parts.js';
import type { SloReport, SliStatus, UsageReport } from './types.js';

type GroupBy = 'tenant' | 'tier' | 'cell';
const SORTS = ['cost', 'margin', 'apiRequests', 'casesCreated', 'activeCases', 'storageBytes'] as const;

function usd(micros: number): number {
  return micros / 1_000_000;
}

export function UsagePage() {
  const [groupBy, setGroupBy] = useState<GroupBy>('tenant');
  const [sort, setSort] = useState<string>('cost');
  const [top, setTop] = useState(10);
  const report = useQuery({
    queryKey: keys.usage(groupBy, sort, top),
    queryFn: ({ signal }) => api<UsageReport>('GET', '/admin/usage', { query: { groupBy, sort, top }, signal }),
  });
  // Tenants by name where the list knows them (the report names them by id).
  const tenants = useAllTenants();
  const nameOf = (key: string) => (groupBy === 'tenant' ? (tenants.data?.find((tenant) => tenant.tenantId === key)?.name ?? key) : key);
  const csv = useMutation({
    mutationFn: async () => {
      const response = await rawGet('/admin/usage', { groupBy, sort, top, format: 'csv' }, 'text/csv');
      offerDownload(await response.blob(), `usage-by-${groupBy}.csv`);
    },
  });
  return (
    <Page title="Usage, cost and SLO">
      <section aria-labelledby="usage-heading">
        <h2 id="usage-heading">Usage and cost, last 30 days</h2>
        <form className="inline-form" aria-label="Usage report" onSubmit={(event) => event.preventDefault()}>
          <SelectField
            label="Group by"
            value={groupBy}
            options={(['tenant', 'tier', 'cell'] as const).map((value) => ({ value, label: value }))}
            onChange={(event) => setGroupBy(event.target.value as GroupBy)}
          />
          <SelectField
            label="Sort by"
            value={sort}
            options={SORTS.map((value) => ({ value, label: value === 'margin' ? 'margin (lowest first)' : value }))}
            onChange={(event) => setSort(event.target.value)}
          />
          <SelectField
            label="Show"
            value={String(top)}
            options={[5, 10, 25, 100].map((value) => ({ value: String(value), label: `top ${value}` }))}
            onChange={(event) => setTop(Number(event.target.value))}
          />
          <Button variant="secondary" busy={csv.isPending} onClick={() => csv.mutate()}>
            Download CSV
          </Button>
        </form>
        <ErrorNotice error={report.error ?? csv.error} />
        {report.isPending ? <Loading what="usage" /> : null}
        {report.data ? (
          report.data.items.length === 0 ? (
            <p>No metered usage in this period yet: usage arrives with the gateway’s logs.</p>
          ) : (
            <>
              <BarChart
                title={`Cost and revenue by ${groupBy}`}
                unit=" $"
                rows={report.data.items.map((item) => ({
                  label: nameOf(item.key),
                  values: { cost: usd(item.economics.cost.micros), revenue: usd(item.economics.revenue.micros) },
                }))}
                series={[
                  { key: 'cost', label: 'Cost', color: SERIES_COLORS[4] },
                  { key: 'revenue', label: 'Revenue', color: SERIES_COLORS[2] },
                ]}
              />
              <div className="table-wrap">
                <table>
                  <caption>
                    Top {report.data.items.length} of {report.data.groups} by {report.data.sort}
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">{groupBy}</th>
                      <th scope="col" className="number">
                        Requests
                      </th>
                      <th scope="col" className="number">
                        Active cases
                      </th>
                      <th scope="col" className="number">
                        Cost
                      </th>
                      <th scope="col" className="number">
                        Revenue
                      </th>
                      <th scope="col" className="number">
                        Margin
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {report.data.items.map((item) => (
                      <tr key={item.key}>
                        <th scope="row">{groupBy === 'tenant' ? <Link to={`/console/tenants/${encodeURIComponent(item.key)}`}>{nameOf(item.key)}</Link> : item.key}</th>
                        <td className="number">{formatNumber(item.quantities.apiRequests)}</td>
                        <td className="number">{formatNumber(item.gauges.activeCases ?? 0)}</td>
                        <td className="number">{formatUsd(item.economics.cost)}</td>
                        <td className="number">{formatUsd(item.economics.revenue)}</td>
                        <td className="number">
                          {formatUsd(item.economics.margin)}
                          {item.economics.marginPercent !== null ? ` (${item.economics.marginPercent}%)` : ''}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )
        ) : null}
      </section>
      <SloSection />
    </Page>
  );
}

function burn(sli: SliStatus): string {
  return Object.entries(sli.burnRates)
    .map(([window, rate]) => `${window}: ${rate.toFixed(1)}×`)
    .join(', ');
}

function budget(sli: SliStatus): string {
  // Negative is overspent: say it so, rather than "-4900% left".
  if (sli.budgetRemaining < 0) return `spent, ${Math.round(-sli.budgetRemaining * 100)}% over`;
  return `${Math.round(sli.budgetRemaining * 100)}% left`;
}

function SloSection() {
  const slo = useQuery({ queryKey: keys.slo, queryFn: ({ signal }) => api<SloReport>('GET', '/admin/slo', { signal }) });
  const data = slo.data;
  return (
    <section aria-labelledby="slo-heading">
      <h2 id="slo-heading">Error budgets burning</h2>
      <ErrorNotice error={slo.error} />
      {slo.isPending ? <Loading what="SLOs" /> : null}
      {data ? (
        <>
          <p>
            Windows ending {formatDateTime(data.at)}; budgets over {data.budgetDays} days.
          </p>
          {data.tenants.length === 0 && data.cells.length === 0 ? <p>No tenant or cell is burning its error budget.</p> : null}
          {data.tenants.length > 0 ? (
            <div className="table-wrap">
              <table>
                <caption>Tenants burning their budget</caption>
                <thead>
                  <tr>
                    <th scope="col">Tenant</th>
                    <th scope="col">Tier</th>
                    <th scope="col">Availability burn</th>
                    <th scope="col">Availability budget</th>
                    <th scope="col">Latency burn</th>
                    <th scope="col">Latency budget</th>
                  </tr>
                </thead>
                <tbody>
                  {data.tenants.map((tenant) => (
                    <tr key={tenant.tenantId}>
                      <th scope="row">
                        <Link to={`/console/tenants/${encodeURIComponent(tenant.tenantId)}`}>{tenant.tenantId}</Link>
                      </th>
                      <td>{tenant.tier}</td>
                      <td>{burn(tenant.availability)}</td>
                      <td>{budget(tenant.availability)}</td>
                      <td>{burn(tenant.latency)}</td>
                      <td>{budget(tenant.latency)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          {data.cells.length > 0 ? (
            <div className="table-wrap">
              <table>
                <caption>Cells burning their budget (per tier)</caption>
                <thead>
                  <tr>
                    <th scope="col">Cell</th>
                    <th scope="col">Tier</th>
                    <th scope="col">Availability burn</th>
                    <th scope="col">Availability budget</th>
                    <th scope="col">Latency burn</th>
                    <th scope="col">Latency budget</th>
                  </tr>
                </thead>
                <tbody>
                  {data.cells.map((cell) => (
                    <tr key={`${cell.cellId}-${cell.tier}`}>
                      <th scope="row">{cell.cellId}</th>
                      <td>{cell.tier}</td>
                      <td>{burn(cell.availability)}</td>
                      <td>{budget(cell.availability)}</td>
                      <td>{burn(cell.latency)}</td>
                      <td>{budget(cell.latency)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
