// checkpoint and restore timings, side by side: the same counting busybox container dumped and
// restored by cli/berth, by berth's API (a process that stays up: CRIU is checked once) and by
// runc, all with the same CRIU, interleaved round by round. Prints the median of each, with ratios.
// Both sides count the same work:
// - runc's checkpoint also removes the container; berth keeps a checkpointed container until it is
//   deleted, so berth's checkpoint time includes that delete.
// - berth is given --empty-ns network: runc always restores the network namespace empty, where
//   berth by default dumps and restores it (CRIU's iptables-save/-restore, 50–100 ms each way here).
//
//   node build/benchmarks/checkpoint.js [--runs N] [--only cli,api,runc]
//
// The CRIU binary is $BERTH_CRIU, else the one setup.sh built, else `criu` on PATH.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../actors/runtime.js';
import { makeBundle, makeRootfs, testCriu } from '../test/helpers/fixtures.js';
import { anchorVersion, berthPath, cleanup, cli, interleave, median, numberArg, onlyArg, printLegend, printMeasure, timed } from './common.js';

const criu = testCriu();
const runs = numberArg('runs', 10);
const only = onlyArg(['cli', 'api', 'runc']);

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-criu-'));
const rootfs = makeRootfs(join(dir, 'rootfs'));
const bundle = makeBundle(join(dir, 'bundle'), rootfs, ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done'], (c) => {
  anchorVersion(c);
  c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
});

/** One tool's way to run, checkpoint (leaving no container, as runc's does), restore and remove a container. */
interface Tool {
  run(id: string): Promise<unknown>;
  pid(id: string): number;
  checkpoint(id: string, images: string): Promise<unknown>;
  restore(id: string, images: string): Promise<unknown>;
  remove(id: string): Promise<unknown>;
}

const roots: Record<string, string> = Object.fromEntries(['cli', 'api', 'runc'].map((t) => [t, join(dir, t)]));
for (const r of Object.values(roots)) mkdirSync(r);
const rt = new Runtime({ root: roots.api!, criu });

const pidIn = (root: string, id: string) => JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8')).pid as number;
const berth = (args: string[], detached = false) => cli('cli', roots.cli!, ['--criu', criu, ...args], detached);

const tools: Record<string, Tool> = {
  cli: {
    run: (id) => berth(['run', '-d', '--bundle', bundle, id], true),
    pid: (id) => pidIn(roots.cli!, id),
    checkpoint: async (id, images) => {
      await berth(['checkpoint', '--empty-ns', 'network', '--image-path', images, id]);
      await berth(['delete', id]);
    },
    restore: (id, images) => berth(['restore', '-d', '--image-path', images, '--bundle', bundle, id], true),
    remove: (id) => berth(['delete', '-f', id]),
  },
  api: {
    run: (id) => rt.run({ id, bundle, stdio: 'ignore', detach: true }),
    pid: (id) => pidIn(roots.api!, id),
    checkpoint: async (id, images) => {
      await rt.checkpoint({ id, imagePath: images, emptyNs: ['network'] });
      await rt.delete(id);
    },
    restore: (id, images) => rt.restore({ id, imagePath: images, bundle, stdio: 'ignore' }),
    remove: (id) => rt.delete(id, { force: true }),
  },
  runc: {
    run: (id) => cli('runc', roots.runc!, ['run', '-d', '--bundle', bundle, id], true),
    // runc's state.json keeps the pid in init_process_pid
    pid: (id) => JSON.parse(readFileSync(join(roots.runc!, id, 'state.json'), 'utf8')).init_process_pid as number,
    checkpoint: (id, images) => cli('runc', roots.runc!, ['--criu', criu, 'checkpoint', '--image-path', images, id]),
    restore: (id, images) => cli('runc', roots.runc!, ['--criu', criu, 'restore', '-d', '--image-path', images, '--bundle', bundle, id], true),
    remove: (id) => cli('runc', roots.runc!, ['delete', '-f', id]),
  },
};

/** Until the container has counted a little: there is something to dump. */
async function counting(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if (Number(readFileSync(`/proc/${pid}/root/tmp/count`, 'utf8')) > 2) return;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`container process ${pid} does not count`);
}


/** One round of tool T: run, wait for counting, checkpoint (timed), restore (timed), check it counts on, remove. */
async function round(t: string, id: string): Promise<{ checkpoint: number; restore: number }> {
  const tool = tools[t]!;
  const images = join(dir, `${id}-images`);
  await tool.run(id);
  await counting(tool.pid(id));
  const checkpoint = await timed(() => tool.checkpoint(id, images));
  const restore = await timed(() => tool.restore(id, images));
  await counting(tool.pid(id));
  await tool.remove(id);
  return { checkpoint, restore };
}

async function main() {
  const check = spawnSync(criu, ['check'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`criu check fails with ${criu}: ${(check.stderr ?? '').trim()}`);
  const names = only.filter((t) => tools[t]);
  for (const t of names) await round(t, `${t}-warm`); // warms caches (and berth's API checks CRIU once); not counted
  printLegend(names, names.includes('cli') ? berthPath(roots.cli!) : undefined);
  const restores: Record<string, number[]> = Object.fromEntries(names.map((t) => [t, []]));
  const checkpoint = await interleave(runs, names, async (t, r) => {
    const took = await round(t, `${t}-${r}`);
    restores[t]!.push(took.restore);
    return took.checkpoint;
  });
  const version = spawnSync(criu, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  console.log(`# median of ${runs} interleaved rounds; busybox counter (tmpfs /tmp, stdio /dev/null); ${criu} (${version})`);
  console.log(`# checkpoint: runc's removes the container, so berth's includes its delete; berth with --empty-ns network, as runc restores it empty`);
  printMeasure('checkpoint', 'ms', checkpoint);
  printMeasure('restore', 'ms', Object.fromEntries(names.map((t) => [t, median(restores[t]!)])));
}

main()
  .catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  })
  .finally(async () => {
    await rt.close();
    await cleanup(dir, roots);
  });
