/**
 * The noisy-neighbour section of `npm run bench`: tenant B of a cell sends `GET /cases` at 5 req/s
 * (open loop) while tenant A of the same cell is quiet, sends at its plan's rate, or sends ten
 * times that (most of it answered 429). A's load comes from a child process, so the figures are
 * the platform's, not the load generator's. Phases are interleaved over several rounds so that a
 * burst of outside load on a shared machine spreads over all of them. Beside B's latencies it
 * prints how late the platform's main thread (router, gateways, authorizer, IAM, STS, Cognito) ran
 * its callbacks in each phase: that is where a refused or admitted request of A would make B wait.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { TIERS } from '@cellbook/core/tenancy/tiers';
import { onboardTenant } from '@cellbook/local/client';
import type { LocalPlatform } from '@cellbook/local/platform';
import { percentile } from './percentile.js';

const B_RATE = 5;
// 5 rounds × 10 s × 5 req/s = 250 latencies per phase, so p99 is not just the one worst request.
const ROUNDS = Number(process.env.BENCH_NOISY_ROUNDS ?? 5);
const PHASE_SECONDS = Number(process.env.BENCH_NOISY_SECONDS ?? 10);
const LOAD_SCRIPT = fileURLToPath(new URL('./noisy-neighbour-load.ts', import.meta.url));

interface Phase {
  label: string;
  /** A's requests per second; 0 = A is quiet. */
  aRate: number;
  latencies: number[];
  bFailures: number;
  aStatuses: Record<string, number>;
  /** The platform's event-loop delay while B was measured (the bench runs the platform in-process). */
  loopDelay: IntervalHistogram;
}

/** B's requests at a fixed rate for `seconds`; each latency is recorded whatever the others do. */
async function measureB(url: string, token: string, seconds: number, phase: Phase): Promise<void> {
  const pending: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < seconds * B_RATE; i++) {
    const due = started + (i * 1000) / B_RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(
      (async () => {
        const t0 = performance.now();
        try {
          const response = await fetch(`${url}/cases?limit=20`, { headers: { authorization: `Bearer ${token}` } });
          await response.arrayBuffer();
          if (response.status !== 200) phase.bFailures += 1;
        } catch {
          // Not even connected (the platform is swamped): a failure, and its wait counts as latency.
          phase.bFailures += 1;
        }
        phase.latencies.push(performance.now() - t0);
      })(),
    );
  }
  await Promise.all(pending);
}

/** Starts A's load in a child process; resolves once it is sending. */
async function startLoad(url: string, token: string, rate: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', LOAD_SCRIPT, url, token, String(rate)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8');
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (text: string) => {
      output += text;
      if (output.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`A's load process exited early (${code})`)));
  });
  await ready;
  return {
    async stop(): Promise<Record<string, number>> {
      const exited = once(child, 'exit');
      child.stdin.end('stop\n');
      await exited;
      const last = output.trim().split('\n').at(-1) ?? '';
      return last.startsWith('{') ? (JSON.parse(last) as Record<string, number>) : { 'no report': 1 };
    },
  };
}

export async function noisyNeighbour(platform: LocalPlatform, operatorToken: string): Promise<void> {
  const suffix = Date.now().toString(36);
  const a = await onboardTenant(platform.url, operatorToken, { name: `Noisy ${suffix}`, tier: 'basic', adminEmail: `noisy-${suffix}@example.com` }, `Noisy-${suffix}-Pass1`);
  const b = await onboardTenant(platform.url, operatorToken, { name: `Quiet ${suffix}`, tier: 'basic', adminEmail: `quiet-${suffix}@example.com` }, `Quiet-${suffix}-Pass1`);
  if (a.cellId !== b.cellId) throw new Error(`the noisy-neighbour section needs both tenants in one cell (got ${a.cellId} and ${b.cellId})`);
  const planRate = TIERS.basic.throttle.rateLimit;
  const phases: Phase[] = [
    { label: 'B alone', aRate: 0, latencies: [], bFailures: 0, aStatuses: {}, loopDelay: monitorEventLoopDelay({ resolution: 2 }) },
    { label: `A at its plan rate (${planRate}/s)`, aRate: planRate, latencies: [], bFailures: 0, aStatuses: {}, loopDelay: monitorEventLoopDelay({ resolution: 2 }) },
    { label: `A at 10x its plan (${planRate * 10}/s)`, aRate: planRate * 10, latencies: [], bFailures: 0, aStatuses: {}, loopDelay: monitorEventLoopDelay({ resolution: 2 }) },
  ];
  // Warm-up: B's and A's tokens are in the authorizer cache, their credentials in the workers.
  await measureB(platform.url, b.token, 2, { ...phases[0]!, latencies: [] });
  await fetch(`${platform.url}/cases?limit=20`, { headers: { authorization: `Bearer ${a.token}` } }).then((r) => r.arrayBuffer());
  // Steady state, not scale-up: with A and B both sending, the function pools grow to the
  // concurrency they need (a second execution environment cold-starts once, ~1 s of CPU on a
  // 2-core machine, as Lambda would on its first concurrent request). That one-time cold start is
  // not what a noisy neighbour costs, so one unmeasured round of each loaded phase comes first.
  for (const phase of phases.filter((candidate) => candidate.aRate > 0)) {
    const load = await startLoad(platform.url, a.token, phase.aRate);
    await measureB(platform.url, b.token, 3, { ...phase, latencies: [], bFailures: 0, aStatuses: {} });
    await load.stop();
  }

  for (let round = 0; round < ROUNDS; round++) {
    for (const phase of phases) {
      const load = phase.aRate > 0 ? await startLoad(platform.url, a.token, phase.aRate) : undefined;
      // Let A's load reach its steady state (its burst spent) before B is measured.
      if (load) await new Promise((resolve) => setTimeout(resolve, 2000));
      phase.loopDelay.enable();
      await measureB(platform.url, b.token, PHASE_SECONDS, phase);
      phase.loopDelay.disable();
      process.stderr.write(`  noisy neighbour: round ${round + 1}/${ROUNDS}, ${phase.label} measured\n`);
      if (load) for (const [status, count] of Object.entries(await load.stop())) phase.aStatuses[status] = (phase.aStatuses[status] ?? 0) + count;
    }
  }

  const alone = phases[0]!;
  alone.latencies.sort((x, y) => x - y);
  const aloneP99 = percentile(alone.latencies, 99);
  console.log(
    `Noisy neighbour: tenants A and B (basic) in one cell; B sends GET /cases?limit=20 at ${B_RATE} req/s; ` +
      `${ROUNDS} interleaved rounds of ${PHASE_SECONDS} s per phase; A's load from a separate process`,
  );
  console.log(
    `  ${'phase'.padEnd(30)} ${'B p50 ms'.padStart(9)} ${'B p99 ms'.padStart(9)} ${'p99/alone'.padStart(10)} ${'B non-200'.padStart(10)} ${'loop p99 ms'.padStart(12)}  A's answers`,
  );
  for (const phase of phases) {
    phase.latencies.sort((x, y) => x - y);
    const p50 = percentile(phase.latencies, 50);
    const p99 = percentile(phase.latencies, 99);
    const answers =
      Object.entries(phase.aStatuses)
        .map(([status, count]) => `${status}: ${count}`)
        .join(', ') || '-';
    console.log(
      `  ${phase.label.padEnd(30)} ${p50.toFixed(2).padStart(9)} ${p99.toFixed(2).padStart(9)} ${`${(p99 / aloneP99).toFixed(2)}x`.padStart(10)} ${String(phase.bFailures).padStart(10)} ${(phase.loopDelay.percentile(99) / 1e6).toFixed(2).padStart(12)}  ${answers}`,
    );
  }
}
