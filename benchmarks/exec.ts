// Concurrent exec into one container, side by side: one exec of `true` alone, then 30 started at
// once, into a running busybox container — by berth's API (warm, in this process), by cli/berth
// processes, by `runc exec` and by `crun exec` (CLI processes; each tool into a container of its
// own). Rounds interleave the tools, each round timing one exec then the batch per tool. 30
// concurrent execs are judged against the one-exec baseline: one after another they would take 30×
// (containerd users report 30 concurrent execs taking 19 s: exec must not serialize on the container).
//
//   node build/benchmarks/exec.js [--rounds N] [--execs N] [--only api,cli,runc,crun]
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../actors/runtime.js';
import { makeBundle, makeRootfs } from '../test/helpers/fixtures.js';
import { anchorVersion, berthPath, cleanup, cli, interleave, median, numberArg, onlyArg, printLegend, printMeasure, timed } from './common.js';
import { prepareCrun } from './crun.js';

const rounds = numberArg('rounds', 10);
const execs = numberArg('execs', 30);
const only = onlyArg(['api', 'cli', 'runc', 'crun']);

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-exec-'));
const rootfs = makeRootfs(join(dir, 'rootfs'));
const bundle = makeBundle(join(dir, 'bundle'), rootfs, ['sleep', '3600'], anchorVersion);
const probe = makeBundle(join(dir, 'probe'), rootfs, ['true'], anchorVersion);
const roots: Record<string, string> = Object.fromEntries(['api', 'cli', 'runc', 'crun'].map((t) => [t, join(dir, t)]));
for (const r of Object.values(roots)) mkdirSync(r);
const ID = 'target';

/** One tool's way to start the target container, exec `true` into it, and remove it. */
interface Tool {
  start(): Promise<unknown>;
  exec(): Promise<unknown>;
  remove(): Promise<unknown>;
}

async function main() {
  const restoreCrun = only.includes('crun') ? await prepareCrun(probe, roots.crun!) : () => {};
  const rt = new Runtime({ root: roots.api! });
  const cliTool = (t: string): Tool => ({
    start: () => cli(t, roots[t]!, ['run', '-d', '--bundle', bundle, ID], true),
    exec: () => cli(t, roots[t]!, ['exec', ID, 'true']),
    remove: () => cli(t, roots[t]!, ['delete', '-f', ID]),
  });
  const tools: Record<string, Tool> = {
    api: {
      start: () => rt.run({ id: ID, bundle, stdio: 'ignore', detach: true }),
      exec: async () => {
        const { exit } = await rt.exec({ id: ID, args: ['true'], stdio: 'ignore' });
        if (exit?.exitCode !== 0) throw new Error(`api exec: ${JSON.stringify(exit)}`);
      },
      remove: () => rt.delete(ID, { force: true }),
    },
    cli: cliTool('cli'),
    runc: cliTool('runc'),
    crun: cliTool('crun'),
  };
  const names = only.filter((t) => tools[t]);
  try {
    for (const t of names) {
      await tools[t]!.start();
      await tools[t]!.exec(); // the first exec loads what later ones reuse
    }
    printLegend(names, names.includes('cli') ? berthPath(roots.cli!) : undefined);
    // Each step times one exec, then the batch: the baseline is taken beside the batch it judges.
    const one: Record<string, number[]> = Object.fromEntries(names.map((t) => [t, []]));
    const batch = await interleave(rounds, names, async (t) => {
      one[t]!.push(await timed(() => tools[t]!.exec()));
      return timed(() => Promise.all(Array.from({ length: execs }, () => tools[t]!.exec())));
    });
    const single = Object.fromEntries(names.map((t) => [t, median(one[t]!)]));
    console.log(`# one exec of true alone, then ${execs} at once, into one running container: median of ${rounds} interleaved rounds`);
    printMeasure('one exec', 'ms', single);
    printMeasure(`${execs} at once`, `ms for ${execs}`, batch);
    for (const t of names) console.log(`${`${execs} vs one`.padEnd(10)} ${t.padEnd(5)} ${(batch[t]! / single[t]!).toFixed(1).padStart(7)}× one exec's time   (${execs}× = one after another: serialized)`);
  } finally {
    for (const t of names) await tools[t]!.remove().catch(() => {}); // not started, or already gone
    await rt.close();
    restoreCrun();
    await cleanup(dir, roots);
  }
}

await main();
