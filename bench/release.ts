/**
 * `npm run bench:release`: canary-by-cell release figures for this machine, printed, never asserted.
 *  1. A faulty release (its `GET /cases` throws) under steady traffic in both pooled cells, with two
 *     probe intervals side by side: time from the canary's first failed request to its rollback
 *     complete, requests failed in the canary and outside it (must be 0).
 *  2. A good release across every wave with the local gate settings: total duration, per wave.
 *  3. Bundle swaps under load: a cell deployed back and forth N times while traffic runs; requests
 *     lost (must be 0) and the time a swap takes.
 * Progress goes to stderr; the figures to stdout.
 */
import { call, onboardTenant, signIn } from '@cellbook/local/client';
import { LOCAL_RELEASE_GATE } from '@cellbook/local/platform/control-plane';
import { startPlatform, type LocalPlatform } from '@cellbook/local/platform';
import { percentile } from './percentile.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SWAPS = Number(process.env.BENCH_SWAPS ?? 10);
const progress = (message: string) => console.error(`[bench:release] ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  atMs: number;
  status: number;
  path: string;
}

/** Steady traffic from one tenant: two loops reading its cases, one case and itself. */
function traffic(url: string, token: string, caseId: string) {
  const answers: Answer[] = [];
  let running = true;
  const paths = ['/cases', `/cases/${caseId}`, '/me'];
  const loops = [0, 1].map(async (offset) => {
    for (let i = offset; running; i += 1) {
      const path = paths[i % paths.length]!;
      const answer = await call(url, 'GET', path, { token }).catch(() => ({ status: 0 }));
      answers.push({ atMs: Date.now(), status: answer.status, path });
      await sleep(10);
    }
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the rollout as the operator API answers it.
type Rollout = any;

async function rollOut(platform: LocalPlatform, operator: string, manifest: unknown, gate: object): Promise<Rollout> {
  const started = await call(platform.url, 'POST', '/admin/releases', { token: operator, body: { manifest, gate } });
  if (started.status !== 201) throw new Error(`release refused: ${JSON.stringify(started.body)}`);
  const releaseId = (started.body as { releaseId: string }).releaseId;
  for (;;) {
    const { body } = await call<Rollout>(platform.url, 'GET', `/admin/releases/${releaseId}`, { token: operator });
    if (['finished', 'halted', 'aborted', 'rolled-back'].includes(body.status)) return body;
    await sleep(50);
  }
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const probeIntervalSeconds of [0.5, 0.1]) {
    progress(`booting a platform (probe every ${probeIntervalSeconds} s)`);
    const platform = await startPlatform({ port: 0, warm: true, releaseDriver: { pollMs: 100 }, releaseGate: { probeIntervalSeconds } });
    try {
      const operator = await signIn(platform.url, 'operator', 'operator');
      const tenants = [];
      for (const n of [1, 2]) {
        const tenant = await onboardTenant(
          platform.url,
          operator,
          { name: `Bench ${n} ${Date.now()}`, tier: 'premium', adminEmail: `bench-${n}-${Date.now()}@example.com` },
          `Bench-${n}-Pass-1a`,
        );
        const created = await call<{ caseId: string }>(platform.url, 'POST', '/cases', { token: tenant.token, body: { title: 'bench', priority: 'low' } });
        tenants.push({ ...tenant, caseId: created.body.caseId });
      }
      const canaryTenant = tenants.find((tenant) => tenant.cellId === 'cell-1')!;
      const otherTenant = tenants.find((tenant) => tenant.cellId === 'cell-2')!;

      // 1. The faulty release.
      const faulty = await platform.releases.build({ commit: `bench-faulty-${probeIntervalSeconds}`, fault: { route: 'GET /cases', kind: 'error' } });
      const canary = traffic(platform.url, canaryTenant.token, canaryTenant.caseId);
      const other = traffic(platform.url, otherTenant.token, otherTenant.caseId);
      await sleep(500);
      const outcome = await rollOut(platform, operator, faulty.manifest, {});
      await sleep(300);
      await Promise.all([canary.stop(), other.stop()]);
      const firstError = canary.answers.find((answer) => answer.status !== 200)?.atMs;
      const rolledBack = Date.parse(outcome.waves[0].rolledBackAt);
      const canaryFailed = canary.answers.filter((answer) => answer.status !== 200).length;
      const otherFailed = other.answers.filter((answer) => answer.status !== 200).length;
      rows.push(
        `faulty canary, probe every ${probeIntervalSeconds} s: ${outcome.status}; first error → rollback complete ${firstError ? rolledBack - firstError : '?'} ms; ` +
          `failed requests: canary ${canaryFailed}/${canary.answers.length}, outside the canary ${otherFailed}/${other.answers.length}`,
      );

      if (probeIntervalSeconds === LOCAL_RELEASE_GATE.probeIntervalSeconds) {
        // 2. A good release with the local gate settings, traffic in both cells.
        const good = await platform.releases.build({ commit: 'bench-good' });
        const loads = [traffic(platform.url, canaryTenant.token, canaryTenant.caseId), traffic(platform.url, otherTenant.token, otherTenant.caseId)];
        const started = Date.now();
        const done = await rollOut(platform, operator, good.manifest, {});
        const total = Date.now() - started;
        await Promise.all(loads.map((load) => load.stop()));
        const waves = done.waves.map(
          (wave: Rollout) =>
            `wave ${wave.index} ${Date.parse(wave.promotedAt) - Date.parse(wave.deployedAt)} ms (${wave.cells.map((cell: Rollout) => `${cell.gate.requests} req`).join(', ')})`,
        );
        const failed = loads.reduce((sum, load) => sum + load.answers.filter((answer) => answer.status !== 200).length, 0);
        const served = loads.reduce((sum, load) => sum + load.answers.length, 0);
        rows.push(
          `good release, gate bake ${LOCAL_RELEASE_GATE.bakeSeconds} s / ${LOCAL_RELEASE_GATE.minRequests} requests: ${done.status} in ${total} ms [${waves.join('; ')}]; failed requests ${failed}/${served}`,
        );

        // 3. Bundle swaps under load.
        const cell = platform.cells.find((candidate) => candidate.cellId === 'cell-1')!;
        const other2 = await platform.releases.build({ commit: 'bench-swap' });
        const targets = [other2, good];
        const load = traffic(platform.url, canaryTenant.token, canaryTenant.caseId);
        const swapMs: number[] = [];
        for (let i = 0; i < SWAPS; i += 1) {
          const swapStarted = performance.now();
          await cell.deploy(targets[i % 2]!);
          swapMs.push(performance.now() - swapStarted);
        }
        await load.stop();
        const lost = load.answers.filter((answer) => answer.status !== 200).length;
        rows.push(
          `bundle swaps under load: ${SWAPS} swaps, requests lost ${lost}/${load.answers.length}; swap p50 ${Math.round(
            percentile(
              [...swapMs].sort((a, b) => a - b),
              50,
            ),
          )} ms, max ${Math.round(Math.max(...swapMs))} ms`,
        );
      }
    } finally {
      await platform.stop();
    }
  }
  console.log(`\nbench:release (${new Date().toISOString()}, node ${process.version})`);
  for (const row of rows) console.log(`  ${row}`);
}

await main();
process.exit(0);
