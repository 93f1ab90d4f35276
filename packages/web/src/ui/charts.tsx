/**
 * Bar charts in plain SVG (no chart library: a few hundred bytes instead of a few hundred KB). Each
 * chart is a figure whose SVG carries a one-sentence summary for screen readers, and whose figures
 * are also a table a keyboard or screen-reader user can open: the chart only says it faster.
 */
import { useId } from 'react';
import { formatNumber } from './kit.js';

export interface ChartSeries {
  key: string;
  label: string;
  /** A fill with at least 3:1 contrast on white (WCAG 1.4.11). */
  color: string;
}

export interface BarChartProps {
  title: string;
  /** One group of bars per row: `{ label: '2026-12-01', values: { created: 4, resolved: 2 } }`. */
  rows: readonly { label: string; values: Readonly<Record<string, number>> }[];
  series: readonly ChartSeries[];
  /** Appended to figures in the table and the summary (` ms`, ` $`). */
  unit?: string;
  /** Shown when every row is empty. */
  emptyText?: string;
}

export const SERIES_COLORS = ['#1d4ed8', '#b45309', '#15803d', '#9333ea', '#be123c', '#0e7490'] as const;

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 12, right: 8, bottom: 40, left: 44 };

export function BarChart({ title, rows, series, unit = '', emptyText = 'Nothing to show for this period.' }: BarChartProps) {
  const id = useId();
  const max = Math.max(0, ...rows.flatMap((row) => series.map((s) => row.values[s.key] ?? 0)));
  const totals = series.map((s) => ({ ...s, total: rows.reduce((sum, row) => sum + (row.values[s.key] ?? 0), 0) }));
  const summary = `${title}: ${totals.map((s) => `${s.label} ${formatNumber(round(s.total))}${unit} in all`).join(', ')} over ${rows.length} ${rows.length === 1 ? 'entry' : 'entries'}.`;
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const groupWidth = rows.length > 0 ? plotWidth / rows.length : plotWidth;
  const barWidth = Math.max(1, (groupWidth * 0.8) / Math.max(1, series.length));
  const scale = (value: number) => (max > 0 ? (value / max) * plotHeight : 0);
  const labelEvery = Math.max(1, Math.ceil(rows.length / 8));
  return (
    <figure className="chart card" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>
        <strong>{title}</strong>
      </figcaption>
      {max === 0 ? (
        <p>{emptyText}</p>
      ) : (
        <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary}>
          <line x1={PAD.left} x2={WIDTH - PAD.right} y1={PAD.top + plotHeight} y2={PAD.top + plotHeight} stroke="#4a5562" />
          <text x={PAD.left - 6} y={PAD.top + 10} textAnchor="end" fontSize="11" fill="#4a5562">
            {formatNumber(round(max))}
          </text>
          <text x={PAD.left - 6} y={PAD.top + plotHeight} textAnchor="end" fontSize="11" fill="#4a5562">
            0
          </text>
          {rows.map((row, index) => {
            const x0 = PAD.left + index * groupWidth + groupWidth * 0.1;
            return (
              <g key={row.label}>
                {series.map((s, seriesIndex) => {
                  const value = row.values[s.key] ?? 0;
                  const height = scale(value);
                  return (
                    <rect key={s.key} x={x0 + seriesIndex * barWidth} y={PAD.top + plotHeight - height} width={barWidth} height={height} fill={s.color}>
                      <title>{`${row.label}, ${s.label}: ${formatNumber(round(value))}${unit}`}</title>
                    </rect>
                  );
                })}
                {index % labelEvery === 0 ? (
                  <text x={x0 + (barWidth * series.length) / 2} y={HEIGHT - PAD.bottom + 16} textAnchor="middle" fontSize="11" fill="#4a5562">
                    {shortLabel(row.label)}
                  </text>
                ) : null}
              </g>
            );
          })}
        </svg>
      )}
      <ul className="chart-legend">
        {series.map((s) => (
          <li key={s.key}>
            <span className="chart-swatch" style={{ background: s.color }} aria-hidden="true" /> {s.label}
          </li>
        ))}
      </ul>
      <details>
        <summary>Show as a table</summary>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Entry</th>
                {series.map((s) => (
                  <th key={s.key} scope="col" className="number">
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.label}>
                  <th scope="row">{row.label}</th>
                  {series.map((s) => (
                    <td key={s.key} className="number">
                      {formatNumber(round(row.values[s.key] ?? 0))}
                      {unit}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

function round(value: number): number {
  return Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 100) / 100;
}

/** Dates shorten to day and month; anything else to 12 characters. */
function shortLabel(label: string): string {
  const date = /^\d{4}-(\d{2})-(\d{2})/.exec(label);
  if (date) return `${date[2]}/${date[1]}`;
  return label.length > 12 ? `${label.slice(0, 11)}…` : label;
}
