// Concurrent exec into one container, side by side: 30 execs of `true` started at once into a
// running busybox container — by berth's API, by 30 cli/berth processes, by 30 `runc exec` and by
// 30 `crun exec` (each into a container of its own runtime). Rounds interleave the tools; prints
// the median time for the whole batch and per exec, with ratios. (containerd users report 30
// concurrent execs taking 19 s: exec must not serialize on the container.)
//
//   node build/benchmarks/exec.js [--rounds N] [--execs N] [--only api,cli,runc,crun]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../actors/runtime.js';
import { berthBin, makeBundle, makeRootfs } from '../test/helpers/fixtures.js';
import { anchorVersion, median, numberArg, onlyArg, runTool } from './common.js';
import { prepareCrun } from './crun.js';

const rounds = numberArg('rounds', 10);
const execs = numberArg('execs', 30);
const only = onlyArg(['api', 'cli', 'runc', 'crun']);

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-exec-'));
const rootfs = makeRootfs(join(dir, 'rootfs'));
const bundle = makeBundle(join(dir, 'bundle'), rootfs, ['sleep', '3600'], anchorVersion);
const probe = makeBundle(join(dir, 'probe'), rootfs, ['true'], anchorVersion);
const roots = { api: join(dir, 'api'), cli: join(dir, 'cli'), runc: join(dir, 'runc'), crun: join(dir, 'crun') };
for (const r of Object.values(roots)) mkdirSync(r);
const ID = 'target';

/** One tool's way to start the target container, exec `true` into it, and remove it. */
interface Tool {
  start(): Promise<unknown>;
  exec(): Promise<unknown>;
  remove(): Promise<unknown>;
}

async function main() {
  const restoreCrun = only.includes('crun') ? await prepareCrun(probe, roots.crun) : () => {};
  const rt = new Runtime({ root: roots.api });
  const cliTool = (cmd: string, root: string): Tool => ({
    start: () => runTool(cmd, ['--root', root, 'run', '-d', '--bundle', bundle, ID], true),
    exec: () => runTool(cmd, ['--root', root, 'exec', ID, 'true']),
    remove: () => runTool(cmd, ['--root', root, 'delete', '-f', ID]),
  });
  const tools: Record<string, Tool> = {
    api: {
      start: async () => void (await rt.run({ id: ID, bundle, stdio: 'ignore', detach: true })),
      exec: async () => {
        const { exit } = await rt.exec({ id: ID, args: ['true'], stdio: 'ignore' });
        if (exit?.exitCode !== 0) throw new Error(`api exec: ${JSON.stringify(exit)}`);
      },
      remove: async () => void (await rt.delete(ID, { force: true })),
    },
    cli: cliTool(berthBin, roots.cli),
    runc: cliTool('runc', roots.runc),
    crun: cliTool('crun', roots.crun),
  };
  const names = only.filter((t) => tools[t]);
  const started: string[] = [];
  try {
    for (const t of names) {
      await tools[t]!.start();
      started.push(t);
      await tools[t]!.exec(); // the first exec loads what later ones reuse
    }
    const times: Record<string, number[]> = Object.fromEntries(names.map((t) => [t, []]));
    for (let i = 0; i < rounds; i++)
      for (const t of names) {
        const begin = performance.now();
        await Promise.all(Array.from({ length: execs }, () => tools[t]!.exec()));
        times[t]!.push(performance.now() - begin);
      }
    const batch = Object.fromEntries(names.map((t) => [t, median(times[t]!)]));
    const against = (t: string) =>
      ['runc', 'crun']
        .filter((o) => o !== t && names.includes(o))
        .map((o) => `${(batch[t]! / batch[o]!).toFixed(2)}× ${o}'s time`)
        .join(', ');
    console.log(`# ${execs} concurrent execs of true into one running container, median of ${rounds} rounds`);
    for (const t of names) console.log(`${t.padEnd(4)} ${batch[t]!.toFixed(0).padStart(6)} ms for ${execs}   ${(batch[t]! / execs).toFixed(1).padStart(5)} ms per exec   ${against(t)}`);
  } finally {
    for (const t of started) await tools[t]!.remove().catch((e: Error) => console.error(`removing ${t}'s container: ${e.message}`));
    await rt.close();
    restoreCrun();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
