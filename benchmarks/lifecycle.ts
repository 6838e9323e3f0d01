// Container lifecycle throughput, side by side: busybox `true` through create → start → wait →
// delete, by berth's API (worker pool), by cli/berth, by runc and by crun — sequentially and with
// N in flight — then the memory of berth's process with 200 live containers.
//
//   node build/benchmarks/lifecycle.js [--runs N] [--parallel P] [--live L] [--only api,cli,runc,crun]
//
// Every tool runs the same bundle and config. The tools are interleaved round by round, so a
// change in the machine's load hits them all alike. Prints one line per measure, with ratios.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../actors/runtime.js';
import { berthBin, makeBundle, makeRootfs } from '../test/helpers/fixtures.js';
import { anchorVersion, median, numberArg, onlyArg, runTool } from './common.js';
import { prepareCrun } from './crun.js';

const runs = numberArg('runs', 40);
const parallel = numberArg('parallel', 8);
const live = numberArg('live', 200);
const only = onlyArg(['api', 'cli', 'runc', 'crun']);

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
const rootfs = makeRootfs(join(dir, 'rootfs'));
const bundle = makeBundle(join(dir, 'bundle'), rootfs, ['true'], anchorVersion);
const sleeper = makeBundle(join(dir, 'sleeper'), rootfs, ['sleep', '3600'], anchorVersion);

type Runner = (id: string) => Promise<void>;


const roots = { cli: join(dir, 'cli'), api: join(dir, 'api'), runc: join(dir, 'runc'), crun: join(dir, 'crun') };
for (const r of Object.values(roots)) mkdirSync(r);

async function main() {
  const restoreCrun = only.includes('crun') ? await prepareCrun(bundle, roots.crun) : () => {};
  const rt = new Runtime({ root: roots.api });
  try {
    const runners: Record<string, Runner> = {
      api: async (id) => {
        const { exit } = await rt.run({ id, bundle, stdio: 'ignore' });
        if (exit?.exitCode !== 0) throw new Error(`api run ${id}: ${JSON.stringify(exit)}`);
      },
      cli: (id) => runTool(berthBin, ['--root', roots.cli, 'run', '--bundle', bundle, id]),
      runc: (id) => runTool('runc', ['--root', roots.runc, 'run', '--bundle', bundle, id]),
      crun: (id) => runTool('crun', ['--root', roots.crun, 'run', '--bundle', bundle, id]),
    };
    const tools = only.filter((t) => runners[t]);
    for (const t of tools) await runners[t]!(`warm-${t}`); // first call loads what later ones reuse

    // Sequential: the time of one lifecycle, median over rounds that interleave the tools.
    const times: Record<string, number[]> = Object.fromEntries(tools.map((t) => [t, []]));
    for (let i = 0; i < runs; i++)
      for (const t of tools) {
        const start = performance.now();
        await runners[t]!(`seq-${t}-${i}`);
        times[t]!.push(performance.now() - start);
      }
    const seq = Object.fromEntries(tools.map((t) => [t, median(times[t]!)]));

    // Parallel: containers per second with P in flight, each tool on its own.
    const rate: Record<string, number> = {};
    for (const t of tools) {
      let next = 0;
      const total = runs * 2;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next < total) await runners[t]!(`par-${t}-${next++}`);
        }),
      );
      rate[t] = total / ((performance.now() - start) / 1000);
    }

    // Ratios against the anchors: time per lifecycle (lower is better), throughput (higher is better).
    const against = (t: string, f: (o: string) => string) => ['runc', 'crun'].filter((o) => o !== t && tools.includes(o)).map(f).join(', ');
    console.log(`# ${runs} sequential rounds; ${runs * 2} containers with ${parallel} in flight; busybox true`);
    for (const t of tools) console.log(`sequential ${t.padEnd(4)} ${seq[t]!.toFixed(1).padStart(7)} ms per lifecycle   ${against(t, (o) => `${(seq[t]! / seq[o]!).toFixed(2)}× ${o}'s time`)}`);
    for (const t of tools) console.log(`parallel   ${t.padEnd(4)} ${rate[t]!.toFixed(1).padStart(7)} containers/s      ${against(t, (o) => `${(rate[t]! / rate[o]!).toFixed(2)}× ${o}'s throughput`)}`);

    if (only.includes('api')) await liveMemory(rt);
  } finally {
    await rt.close();
    restoreCrun();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** RSS of this process idle, then at its peak with LIVE containers running at once. */
async function liveMemory(rt: Runtime) {
  const rss = () => Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096;
  global.gc?.();
  const idle = rss();
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 5);
  const ids = Array.from({ length: live }, (_, i) => `live-${i}`);
  try {
    for (let i = 0; i < ids.length; i += parallel)
      await Promise.all(ids.slice(i, i + parallel).map((id) => rt.run({ id, bundle: sleeper, stdio: 'ignore', detach: true })));
    peak = Math.max(peak, rss());
  } finally {
    clearInterval(sampler);
    for (let i = 0; i < ids.length; i += parallel) await Promise.all(ids.slice(i, i + parallel).map((id) => rt.delete(id, { force: true }).catch(() => {})));
  }
  const per = (peak - idle) / live / 1024 / 1024;
  console.log(`memory     api  idle ${(idle / 2 ** 20).toFixed(1)} MB, peak ${(peak / 2 ** 20).toFixed(1)} MB with ${live} live containers: ${per.toFixed(3)} MB per container (target < 1)`);
}

if (!existsSync(berthBin)) throw new Error('build berth first (npm run build)');
await main();
