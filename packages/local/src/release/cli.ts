/**
 * `npm run release`: builds a release of the working tree and rolls it out to the running platform
 * (`npm start`) through the operator API, printing each wave's progress and gate figures until the
 * release is over. `--plan` prints the waves it would take, and deploys nothing.
 *
 *   npm run release [-- --url URL] [--plan] [--fault "GET /cases:error"] [--label TEXT]
 *                        [--bake SECONDS] [--min-requests N]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { planWaves, type PlannedCell } from '@cellbook/core/releases/plan';
import { call, signIn } from '../client.js';
import { buildRelease, parseFault, workingTreeCommit } from './build.js';

interface WaveView {
  index: number;
  kind: string;
  state: string;
  verdict?: string;
  cells: {
    cellId: string;
    gate?: { requests: number; serverErrorRate: number; p99LatencyMs: number | null; probes: { passed: number; failed: number }; alarms: { name: string; state: string }[] };
  }[];
}

interface ReleaseView {
  releaseId: string;
  status: string;
  reason?: string;
  waves: WaveView[];
}

const FINAL = new Set(['finished', 'halted', 'aborted', 'rolled-back']);

function fail(message: string): never {
  console.error(`release: ${message}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.CELLBOOK ?? `http://localhost:${process.env.PORT ?? 3000}` },
    plan: { type: 'boolean', default: false },
    fault: { type: 'string' },
    label: { type: 'string' },
    bake: { type: 'string' },
    'min-requests': { type: 'string' },
  },
});
const fault = values.fault
  ? (() => {
      try {
        return parseFault(values.fault!);
      } catch (error) {
        return fail((error as Error).message);
      }
    })()
  : undefined;
const number = (name: string, text: string | undefined) => {
  if (text === undefined) return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : fail(`--${name} takes a number, got "${text}"`);
};
const gate = { bakeSeconds: number('bake', values.bake), minRequests: number('min-requests', values['min-requests']) };

const baseUrl = values.url!;
const token = await signIn(baseUrl, 'operator', process.env.LOCAL_OPERATOR_PASSWORD || 'operator').catch((error: Error) =>
  fail(`cannot sign in as the operator at ${baseUrl} (${error.message}); is \`npm start\` running?`),
);
const operator = { token };

const release = await buildRelease({
  outRoot: resolve(process.env.CELLBOOK_RELEASES_DIR ?? '.cellbook/releases'),
  commit: await workingTreeCommit(),
  ...(fault ? { fault } : {}),
  ...(values.label ? { config: { label: values.label } } : {}),
});
console.log(`built release ${release.releaseId} (commit ${release.manifest.commit}${fault ? `, fault ${release.manifest.config.fault}` : ''})`);

if (values.plan) {
  const cells = await call<{ items: PlannedCell[] }>(baseUrl, 'GET', '/admin/cells', operator);
  for (const wave of planWaves(cells.body.items)) console.log(`  wave ${wave.index} (${wave.kind}): ${wave.cellIds.join(', ')}`);
  console.log('plan only: nothing deployed');
  process.exit(0);
}

const started = await call<ReleaseView & { error?: { code: string; message: string } }>(baseUrl, 'POST', '/admin/releases', {
  ...operator,
  body: { manifest: release.manifest, ...(gate.bakeSeconds !== undefined || gate.minRequests !== undefined ? { gate: JSON.parse(JSON.stringify(gate)) } : {}) },
});
if (started.status !== 201) fail(`${started.status} ${started.body.error?.code}: ${started.body.error?.message}`);

/** One line per wave state change, with what the gate saw. */
function describe(wave: WaveView): string {
  const figures = wave.cells
    .filter((cell) => cell.gate)
    .map((cell) => {
      const g = cell.gate!;
      const alarms = g.alarms.filter((alarm) => alarm.state === 'ALARM').map((alarm) => alarm.name);
      return `${cell.cellId}: ${g.requests} requests, ${(g.serverErrorRate * 100).toFixed(1)}% 5xx, p99 ${g.p99LatencyMs === null ? '-' : Math.round(g.p99LatencyMs)} ms, probes ${g.probes.passed} ok/${g.probes.failed} failed${alarms.length ? `, ALARM ${alarms.join(' ')}` : ''}`;
    });
  return `  wave ${wave.index} (${wave.kind}) ${wave.cells.map((cell) => cell.cellId).join(', ')}: ${wave.state}${figures.length ? ` — ${figures.join('; ')}` : ''}${wave.verdict ? `\n    why: ${wave.verdict}` : ''}`;
}

const seen = new Map<number, string>();
let current: ReleaseView = started.body;
for (;;) {
  for (const wave of current.waves) {
    if (seen.get(wave.index) === wave.state) continue;
    seen.set(wave.index, wave.state);
    if (wave.state !== 'pending') console.log(describe(wave));
  }
  if (FINAL.has(current.status)) break;
  await new Promise((done) => setTimeout(done, 250));
  current = (await call<ReleaseView>(baseUrl, 'GET', `/admin/releases/${release.releaseId}`, operator)).body;
}
console.log(`release ${current.releaseId}: ${current.status}${current.reason ? ` (${current.reason})` : ''}`);
process.exit(current.status === 'finished' ? 0 : 1);
