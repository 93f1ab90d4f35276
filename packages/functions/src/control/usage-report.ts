import * as UsageReport from '@cellbook/core/metering/usage-report';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

/** Whether the client asked for CSV: `format=csv`, or `Accept: text/csv` without `format=json`. */
function wantsCsv(format: 'json' | 'csv' | undefined, accept: string | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  return (accept ?? '').split(',').some((type) => type.split(';')[0]?.trim().toLowerCase() === 'text/csv');
}

/** The top tenants, tiers or cells by a dimension, cost or margin; the same rows as CSV on request. */
export const handler = operatorApi(async (request) => {
  const { format, ...report } = await UsageReport.usageReport(request.query);
  if (!wantsCsv(format, request.headers.accept)) return ok(report);
  return {
    statusCode: 200,
    text: UsageReport.usageCsv(report),
    headers: {
      'Content-Type': 'text/csv; charset=utf-8; header=present',
      'Content-Disposition': `attachment; filename="usage-by-${report.groupBy}.csv"`,
    },
  };
});
