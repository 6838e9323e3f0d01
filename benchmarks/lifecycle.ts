// Container lifecycle, side by side: busybox `true` through create → start → wait → delete, by
// berth's API (warm in this process, on its default host), by cli/berth, by runc and by crun (CLI
// processes) — sequentially and with P in flight — then the API with sleepers alive: create
// latency with none and with each count, and this process's memory per live container; then the
// same create latencies for crun with its own sleepers alive, where what is the kernel's shows.
//
//   node --expose-gc build/benchmarks/lifecycle.js [--runs N] [--rounds R] [--parallel P] [--batch B]
//        [--sleepers 1000[,10000]] [--only api,cli,runc,crun]
//
// Every tool runs the same bundle and config. Sequential runs and parallel batches alike are
// interleaved round by round (see common.ts). The API's figures are not like for like with the
// anchors' (no process start per call): cli's line is. Prints one line per measure, with ratios.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../actors/runtime.js';
import { makeBundle, makeRootfs } from '../test/helpers/fixtures.js';
import { anchorVersion, berthPath, cleanup, cli, interleave, median, numberArg, numbersArg, onlyArg, printLegend, printMeasure, rate, targetText, timed } from './common.js';
import { prepareCrun } from './crun.js';

const runs = numberArg('runs', 30);
const rounds = numberArg('rounds', 5);
const parallel = numberArg('parallel', 16);
const batch = numberArg('batch', parallel * 4);
const sleepers = numbersArg('sleepers', [1000]).sort((a, b) => a - b);
const only = onlyArg(['api', 'cli', 'runc', 'crun']);

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
const rootfs = makeRootfs(join(dir, 'rootfs'));
const bundle = makeBundle(join(dir, 'bundle'), rootfs, ['true'], anchorVersion);
const sleeper = makeBundle(join(dir, 'sleeper'), rootfs, ['sleep', '3600'], anchorVersion);
const roots: Record<string, string> = Object.fromEntries(only.map((t) => [t, join(dir, t)]));
for (const r of Object.values(roots)) mkdirSync(r);

async function main(rt: Runtime) {
  const lifecycle: Record<string, (id: string) => Promise<unknown>> = {
    api: async (id) => {
      const { exit } = await rt.run({ id, bundle, stdio: 'ignore' });
      if (exit?.exitCode !== 0) throw new Error(`api run ${id}: ${JSON.stringify(exit)}`);
    },
    cli: (id) => cli('cli', roots.cli!, ['run', '--bundle', bundle, id]),
    runc: (id) => cli('runc', roots.runc!, ['run', '--bundle', bundle, id]),
    crun: (id) => cli('crun', roots.crun!, ['run', '--bundle', bundle, id]),
  };
  for (const t of only) await lifecycle[t]!(`warm-${t}`); // the first call loads what later ones reuse (and starts berth's server)
  printLegend(only, roots.cli && berthPath(roots.cli));

  const seq = await interleave(runs, only, (t, r) => timed(() => lifecycle[t]!(`seq-${t}-${r}`)));
  const par = await interleave(rounds, only, (t, r) => rate(batch, parallel, (i) => lifecycle[t]!(`par-${t}-${r}-${i}`).then(() => {})));
  console.log(`# sequential: median of ${runs} interleaved rounds; parallel: median of ${rounds} interleaved rounds of ${batch} containers with ${parallel} in flight; busybox true`);
  printMeasure('sequential', 'ms/lifecycle', seq, { api: { of: 'crun', max: 1 } });
  printMeasure(`parallel${parallel}`, 'containers/s', par, { api: { of: 'crun', min: 2 } });

  if (!only.includes('api')) return;
  console.log(`# with sleepers alive (busybox sleep, started ${parallel} at a time; one tool's at a time): create latency, median of ${runs} creates of true${global.gc ? '' : ' (no --expose-gc: RSS not collected first)'}; the API's memory`);
  await withSleepers(apiTool(rt));
  if (only.includes('crun')) await withSleepers(crunTool);
}

/**
 * What the sleepers phase does with a tool: create a container of `true` (not started), run a
 * sleeper detached, delete either. The API's, and crun's CLI beside it: whether create slows with
 * many containers alive for a reason of berth's or of the kernel's shows in both.
 */
interface SleeperTool {
  name: string;
  create(id: string): Promise<unknown>;
  runSleeper(id: string): Promise<unknown>;
  remove(id: string): Promise<unknown>;
}

const apiTool = (rt: Runtime): SleeperTool => ({
  name: 'api',
  create: (id) => rt.create({ id, bundle, stdio: 'ignore' }),
  runSleeper: (id) => rt.run({ id, bundle: sleeper, stdio: 'ignore', detach: true }),
  remove: (id) => rt.delete(id, { force: true }),
});

const crunTool: SleeperTool = {
  name: 'crun',
  create: (id) => cli('crun', roots.crun!, ['create', '--bundle', bundle, id], true),
  runSleeper: (id) => cli('crun', roots.crun!, ['run', '--detach', '--bundle', sleeper, id], true),
  remove: (id) => cli('crun', roots.crun!, ['delete', '--force', id]),
};

/** Milliseconds of each of RUNS creates (of `true`, not started), one at a time; each is deleted untimed. */
async function creates(tool: SleeperTool, tag: string): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const id = `create-${tag}-${i}`;
    ms.push(await timed(() => tool.create(id)));
    await tool.remove(id);
  }
  return ms;
}

/** This process's resident memory (its worker threads included). */
const rssNow = () => Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096;
/** The same after a collection (of this thread's heap), when --expose-gc allows: what is held, not garbage. */
function rssHeld(): number {
  global.gc?.();
  return rssNow();
}

/** Start sleepers until N are ALIVE, PARALLEL at a time; throws the first failure once its batch has settled. */
async function startSleepers(tool: SleeperTool, alive: string[], n: number): Promise<void> {
  for (let k = alive.length; k < n; k += parallel) {
    const ids = Array.from({ length: Math.min(parallel, n - k) }, (_, i) => `sleeper-${k + i}`);
    const settled = await Promise.allSettled(ids.map((id) => tool.runSleeper(id)));
    settled.forEach((r, i) => r.status === 'fulfilled' && alive.push(ids[i]!));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/**
 * Create latency with no container of TOOL's alive, then with each count of its sleepers alive,
 * then with none again (so drift shows). For the API also the memory each live sleeper holds in
 * this process (RSS with them up minus before, judged) and the peak while they were being started
 * (shown). Each count's lines are printed as soon as it is measured: a failure at a larger count
 * leaves the smaller one's.
 */
async function withSleepers(tool: SleeperTool) {
  const ms = (x: number) => `${x.toFixed(1).padStart(7)} ms           `;
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  const api = tool.name === 'api';
  const line = (what: string, text: string) => console.log(`${what.padEnd(10)} ${tool.name.padEnd(5)} ${text}`);
  // The phases before leave cgroups being released by the kernel's workers for a while: warm up first.
  await creates(tool, 'warm-up');
  const none = median(await creates(tool, 'none-before'));
  line('create', `${ms(none)} none alive`);
  // This process's memory is the API's alone: no collection or sampling beside crun's calls.
  const idle = api ? rssHeld() : 0;
  let peak = idle;
  const sampler = api ? setInterval(() => (peak = Math.max(peak, rssNow())), 20) : undefined;
  const alive: string[] = [];
  try {
    for (const n of sleepers) {
      const started = performance.now();
      try {
        await startSleepers(tool, alive, n);
      } catch (e) {
        line('sleepers', `could not start more than ${alive.length} of ${n}: ${(e as Error).message}`);
        break;
      }
      const startS = (performance.now() - started) / 1000;
      const held = api ? rssHeld() : 0; // before the creates below, with only the sleepers up
      const latency = median(await creates(tool, `with-${n}`));
      const ratio = `${n} sleepers alive: ${(latency / none).toFixed(2)}× the time with none`;
      line('create', `${ms(latency)} ${api ? `${ratio} ${targetText(latency / none, { of: 'none', max: 1.1 }, '×')}` : `${ratio} (started in ${startS.toFixed(0)} s)`}`);
      if (!api) continue;
      const perMb = (held - idle) / n / 2 ** 20;
      line('memory', `${perMb.toFixed(3).padStart(7)} MB/container  ${n} sleepers alive (started in ${startS.toFixed(0)} s): RSS ${mb(idle)} → ${mb(held)} MB, peak ${mb(peak)} MB ${targetText(perMb, { of: '', max: 0.2 }, ' MB')}`);
    }
  } finally {
    clearInterval(sampler);
    for (let i = 0; i < alive.length; i += parallel) await Promise.allSettled(alive.slice(i, i + parallel).map((id) => tool.remove(id)));
  }
  line('create', `${ms(median(await creates(tool, 'none-after')))} none alive again, after the sleepers (drift check)`);
}

const restoreCrun = only.includes('crun') ? await prepareCrun(bundle, roots.crun!) : () => {};
const rt = new Runtime({ root: roots.api ?? join(dir, 'api') });
try {
  await main(rt);
} finally {
  await rt.close();
  restoreCrun();
  await cleanup(dir, roots);
}
