// A real client's view: `podman run --rm` of busybox `true` with cli/berth, runc and crun as podman's
// OCI runtime, interleaved round by round. podman gets storage, run state, a temp dir and a cgroup
// parent of its own under a temp folder (as test/client.test.ts does), and no network (podman's
// network set-up is the same for every runtime and would only dilute the ratios).
//
//   node build/benchmarks/podman.js [--runs N] [--only cli,runc,crun]
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupsLeft, makeBundle, makeRootfs, mountsUnder, removeCgroupTree } from '../test/helpers/fixtures.js';
import { anchorVersion, berthCli, berthEnv, berthPath, cleanup, interleave, numberArg, onlyArg, printLegend, printMeasure, runTool, timed, which } from './common.js';
import { prepareCrun } from './crun.js';

const runs = numberArg('runs', 20);
const only = onlyArg(['cli', 'runc', 'crun']);

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-podman-'));
const cgroupParent = `berth-bench-podman-${process.pid}`;
const image = 'localhost/berth-busybox:bench';
const roots: Record<string, string> = Object.fromEntries(only.map((t) => [t, join(dir, 'roots', t)]));
for (const r of Object.values(roots)) mkdirSync(r, { recursive: true });

/**
 * podman's runtime for TOOL: a one-line sh wrapper that gives it a state root under DIR. podman
 * would pass none (`--runtime-flag root=` does not reach the exit command's cleanup, which then
 * deletes in /run). The wrapper's exec costs every runtime alike; it bears the tool's name, which
 * podman goes by.
 */
function wrapper(tool: string): string {
  const name = tool === 'cli' ? 'berth' : tool;
  const bin = tool === 'cli' ? berthCli : which(tool);
  const env = tool === 'cli' ? Object.entries(berthEnv).map(([k, v]) => `${k}=${v} `).join('') : '';
  const path = join(dir, 'runtimes', name, name);
  mkdirSync(join(dir, 'runtimes', name), { recursive: true });
  writeFileSync(path, `#!/bin/sh\n${env}exec ${bin} --root ${roots[tool]} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

const podman = (args: string[]) =>
  runTool('podman', ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--network-config-dir', join(dir, 'net'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', ...args]);
// podman's default limits exceed this machine's hard limits for these two.
const limits = ['--ulimit', 'nproc=1000:1000', '--ulimit', 'nofile=1024:1024'];
const runtimes = Object.fromEntries(only.map((t) => [t, wrapper(t)]));
const run = (t: string) => podman(['--runtime', runtimes[t]!, 'run', '--rm', '--network', 'none', ...limits, '--cgroup-parent', `/${cgroupParent}`, image, 'true']);

/** podman set up with the image, and each runtime once (the first run loads what later ones reuse); else why not. */
async function ready(): Promise<string | null> {
  if (spawnSync('podman', ['--version']).status !== 0) return 'podman is not installed';
  spawnSync('tar', ['-C', join(dir, 'rootfs'), '-cf', join(dir, 'rootfs.tar'), '.']);
  try {
    await podman(['import', join(dir, 'rootfs.tar'), image]);
    for (const t of only) await run(t);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

async function main() {
  const why = await ready();
  if (why) return console.log(`podman     skipped: podman cannot run here: ${why}`);
  printLegend(only, roots.cli && berthPath(roots.cli));
  console.log(`# podman run --rm --network none of busybox true, ${spawnSync('podman', ['--version'], { encoding: 'utf8' }).stdout.trim()}, each runtime behind a one-line sh wrapper: median of ${runs} interleaved rounds`);
  printMeasure('podman', 'ms/run', await interleave(runs, only, (t) => timed(() => run(t))), { cli: [{ of: 'runc', max: 1 }, { of: 'crun', max: 1 }] });
}

const probe = makeBundle(join(dir, 'probe'), makeRootfs(join(dir, 'rootfs')), ['true'], anchorVersion);
mkdirSync(join(dir, 'crun-probe'));
const restoreCrun = only.includes('crun') ? await prepareCrun(probe, join(dir, 'crun-probe')) : () => {};
try {
  await main();
} finally {
  await podman(['rm', '--all', '--force']).catch(() => {});
  await podman(['rmi', '--all', '--force']).catch(() => {});
  for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
  restoreCrun();
  await cleanup(dir, roots);
  // conmon puts itself in <parent>/conmon: remove the tree, deepest first.
  for (const c of cgroupsLeft(cgroupParent)) removeCgroupTree(c);
}
