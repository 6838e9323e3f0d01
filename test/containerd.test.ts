// Another real client that knows nothing of berth: containerd 1.6 with its runc shim
// (io.containerd.runc.v2), driven by ctr with `--runc-binary cli/berth`. The test starts a private
// containerd — its config, root, state and sockets under a temp folder, the CRI plugin off — and
// imports an image made offline from the busybox rootfs, so it runs on a fresh clone with no
// network. Everything it made is removed afterwards, processes by pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { berth, berthBin, cgroupsLeft, cleanupRoot, isRoot, makeRootfs, mountsUnder, removeCgroupTree, tempDir } from './helpers/fixtures.js';
import { runContainerdCleanup, stopContainerd } from './helpers/containerd.js';
import { makeOciArchive } from './helpers/ociImage.js';
import { waitUntil } from './helpers/wait.js';

const test = suite('client: containerd');
const hasContainerd = spawnSync('containerd', ['--version']).status === 0 && spawnSync('ctr', ['--version']).status === 0;
const enabled = isRoot && hasContainerd;
const dir = enabled ? tempDir('berth-containerd-') : '';
// ctr's namespace names the cgroup parent (/<namespace>/<id>) and the runtime's state folder.
const namespace = `berth-ctr-${process.pid}`;
const runcRoot = join(dir, 'runc-root');
const root = join(runcRoot, namespace); // the shim calls the runtime with --root <runc-root>/<namespace>
const socket = join(dir, 'containerd.sock');
const image = 'localhost/berth-busybox:test';
const removeRunContainerd = runContainerdCleanup();
let containerd: ChildProcess | null = null;

function ctr(args: string[]) {
  const r = spawnSync('ctr', ['--address', socket, '--namespace', namespace, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}
const runtimeFlags = ['--runc-binary', berthBin, '--runc-root', runcRoot, '--fifo-dir', join(dir, 'fifo')];

test.before(() => {
  writeFileSync(
    join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      '[debug]',
      `  address = "${join(dir, 'debug.sock')}"`,
    ].join('\n') + '\n',
  );
  containerd = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: ['ignore', 'ignore', 'ignore'] });
  assert.ok(waitUntil(() => ctr(['version']).status === 0, 20_000), 'containerd answers');
  const work = join(dir, 'image');
  mkdirSync(work);
  makeOciArchive(makeRootfs(join(dir, 'rootfs')), image, work, join(dir, 'image.tar'));
  const imported = ctr(['images', 'import', join(dir, 'image.tar')]);
  assert.is(imported.status, 0, imported.stderr);
  // Started here, the server is not a child of the shim (the subreaper the shim runs berth under).
  assert.is(berth(root, ['list']).status, 0);
});

test.after(() => {
  if (!enabled) return;
  stopContainerd(containerd, socket, ctr);
  cleanupRoot(root);
  for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
  for (const c of cgroupsLeft(namespace)) removeCgroupTree(c);
  removeRunContainerd();
});

test('ctr run --rm: output, exit status, its own hostname and pid 1, and nothing left', () => {
  const r = ctr(['run', '--rm', ...runtimeFlags, image, 'once', 'sh', '-c', 'echo hello; hostname; echo $$; exit 3']);
  assert.is(r.status, 3, r.stderr);
  assert.is(r.stdout, `hello\n${spawnSync('hostname', { encoding: 'utf8' }).stdout.trim()}\n1`, "no hostname set: the host's, in a uts namespace of its own");
  assert.not.ok(existsSync(join(root, 'once')), 'no state folder');
  assert.equal(cgroupsLeft(join(namespace, 'once')), []);
});

test('a task through the shim: exec with its status, ps, pause and resume, kill, delete', () => {
  const run = ctr(['run', '-d', ...runtimeFlags, image, 'task', 'sleep', '60']);
  assert.is(run.status, 0, run.stderr);
  const status = () => ctr(['tasks', 'ls']).stdout.split('\n').find((l) => l.startsWith('task '))?.split(/\s+/)[2];
  assert.is(status(), 'RUNNING');
  const pid = JSON.parse(berth(root, ['state', 'task']).stdout).pid as number;
  const exec = ctr(['tasks', 'exec', '--fifo-dir', join(dir, 'fifo'), '--exec-id', 'e1', 'task', 'sh', '-c', 'echo $$; tr "\\0" " " < /proc/1/cmdline; exit 4']);
  assert.is(exec.status, 4, exec.stderr);
  assert.match(exec.stdout, /^\d+\nsleep 60$/);
  assert.match(ctr(['tasks', 'ps', 'task']).stdout, new RegExp(`^${pid}\\s`, 'm'), 'ps (runc ps --format json) names the process');
  assert.is(ctr(['tasks', 'pause', 'task']).status, 0);
  assert.is(status(), 'PAUSED');
  assert.is(ctr(['tasks', 'resume', 'task']).status, 0);
  assert.is(status(), 'RUNNING');
  assert.is(ctr(['tasks', 'kill', '-s', 'KILL', 'task']).status, 0);
  assert.ok(waitUntil(() => status() === 'STOPPED', 10_000), 'the shim saw it exit');
  assert.is(ctr(['tasks', 'delete', 'task']).status, 0);
  assert.is(ctr(['containers', 'rm', 'task']).status, 0);
  assert.not.ok(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '), 'the process is gone');
  assert.not.ok(existsSync(join(root, 'task')), 'no state folder');
  assert.equal(cgroupsLeft(join(namespace, 'task')), []);
});

if (enabled) test.run();
else console.log(`client: containerd: skipped (${isRoot ? 'containerd is not installed' : 'needs root'})`);
