// checkpoint and restore timings, side by side: the same counting busybox container dumped and
// restored by cli/berth, by berth's API (a process that stays up: CRIU is checked once) and by
// runc, all with the same CRIU, interleaved round by round. Prints the median of each, with ratios.
// berth is given --empty-ns network, so all do the same work: runc always restores the network
// namespace empty, where berth by default dumps and restores it (CRIU's iptables-save/-restore
// runs then, 50–100 ms each way here).
//
//   node build/benchmarks/checkpoint.js [--runs N] [--only cli,api,runc]
//
// The CRIU binary is $BERTH_CRIU, else the one setup.sh built, else `criu` on PATH.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../actors/runtime.js';
import { berthBin, makeBundle, makeRootfs, testCriu } from '../test/helpers/fixtures.js';
import { anchorVersion, median, numberArg, onlyArg, runTool } from './common.js';

const criu = testCriu();
const runs = numberArg('runs', 10);
const only = onlyArg(['cli', 'api', 'runc']);

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-criu-'));
const rootfs = makeRootfs(join(dir, 'rootfs'));
const bundle = makeBundle(join(dir, 'bundle'), rootfs, ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done'], (c) => {
  anchorVersion(c);
  c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
});


/** One tool's way to run, checkpoint, restore and remove a container. */
interface Tool {
  run(id: string): Promise<unknown>;
  pid(id: string): number;
  checkpoint(id: string, images: string): Promise<unknown>;
  /** Not timed: berth keeps a checkpointed container until it is deleted (runc's checkpoint removes it). */
  release(id: string): Promise<unknown>;
  restore(id: string, images: string): Promise<unknown>;
  remove(id: string): Promise<unknown>;
}

const roots = { cli: join(dir, 'cli'), api: join(dir, 'api'), runc: join(dir, 'runc') };
for (const r of Object.values(roots)) mkdirSync(r);
const rt = new Runtime({ root: roots.api, criu });

const pidIn = (root: string, id: string) => JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8')).pid as number;

const tools: Record<string, Tool> = {
  cli: {
    run: (id) => runTool(berthBin, ['--root', roots.cli, 'run', '-d', '--bundle', bundle, id], true),
    pid: (id) => pidIn(roots.cli, id),
    checkpoint: (id, images) => runTool(berthBin, ['--root', roots.cli, '--criu', criu, 'checkpoint', '--empty-ns', 'network', '--image-path', images, id]),
    release: (id) => runTool(berthBin, ['--root', roots.cli, 'delete', id]),
    restore: (id, images) => runTool(berthBin, ['--root', roots.cli, '--criu', criu, 'restore', '-d', '--image-path', images, '--bundle', bundle, id], true),
    remove: (id) => runTool(berthBin, ['--root', roots.cli, 'delete', '-f', id]),
  },
  api: {
    run: async (id) => void (await rt.run({ id, bundle, stdio: 'ignore', detach: true })),
    pid: (id) => pidIn(roots.api, id),
    checkpoint: async (id, images) => void (await rt.checkpoint({ id, imagePath: images, emptyNs: ['network'] })),
    release: async (id) => void (await rt.delete(id)),
    restore: async (id, images) => void (await rt.restore({ id, imagePath: images, bundle, stdio: 'ignore' })),
    remove: async (id) => void (await rt.delete(id, { force: true })),
  },
  runc: {
    run: (id) => runTool('runc', ['--root', roots.runc, 'run', '-d', '--bundle', bundle, id], true),
    // runc's state.json keeps the pid in init_process_pid
    pid: (id) => JSON.parse(readFileSync(join(roots.runc, id, 'state.json'), 'utf8')).init_process_pid as number,
    checkpoint: (id, images) => runTool('runc', ['--root', roots.runc, '--criu', criu, 'checkpoint', '--image-path', images, id]),
    release: async () => {},
    restore: (id, images) => runTool('runc', ['--root', roots.runc, '--criu', criu, 'restore', '-d', '--image-path', images, '--bundle', bundle, id], true),
    remove: (id) => runTool('runc', ['--root', roots.runc, 'delete', '-f', id]),
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


/** The container a failed round leaves behind, removed at the end (a checkpointed one may still run). */
let current: { tool: Tool; id: string } | null = null;

async function main() {
  const check = spawnSync(criu, ['check'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`criu check fails with ${criu}: ${(check.stderr ?? '').trim()}`);
  const names = only.filter((t) => tools[t]);
  const times: Record<string, { checkpoint: number[]; restore: number[] }> = Object.fromEntries(names.map((t) => [t, { checkpoint: [], restore: [] }]));
  // Round 0 warms caches (and berth's API checks CRIU once); it is not counted.
  for (let round = 0; round <= runs; round++)
    for (const t of names) {
      const tool = tools[t]!;
      const id = `${t}-${round}`;
      const images = join(dir, `${id}-images`);
      await tool.run(id);
      current = { tool, id };
      await counting(tool.pid(id));
      let start = performance.now();
      await tool.checkpoint(id, images);
      const dumped = performance.now() - start;
      await tool.release(id);
      start = performance.now();
      await tool.restore(id, images);
      const restored = performance.now() - start;
      await counting(tool.pid(id));
      await tool.remove(id);
      current = null;
      if (round === 0) continue;
      times[t]!.checkpoint.push(dumped);
      times[t]!.restore.push(restored);
    }
  const version = spawnSync(criu, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  console.log(`# ${runs} rounds; busybox counter (tmpfs /tmp, stdio /dev/null); ${criu} (${version}); ${spawnSync('runc', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]}`);
  const runc = times.runc && { checkpoint: median(times.runc.checkpoint), restore: median(times.runc.restore) };
  for (const t of names) {
    for (const what of ['checkpoint', 'restore'] as const) {
      const m = median(times[t]![what]);
      const ratio = runc && t !== 'runc' ? `   ${(m / runc[what]).toFixed(2)}× runc's time` : '';
      console.log(`${what.padEnd(10)} ${t.padEnd(5)} ${m.toFixed(0).padStart(5)} ms${ratio}`);
    }
  }
}

main()
  .catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  })
  .finally(async () => {
    await current?.tool.remove(current.id).catch(() => {});
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  });
