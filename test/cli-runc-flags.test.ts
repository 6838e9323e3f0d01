// runc's flags that clients pass, each acted on or refused in one line — through the berth server,
// with real containers: exec's --cgroup, --pidfd-socket (create and exec), run --keep, and the
// refusals of --systemd-cgroup and update's Intel RDT schemata.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertNothingLeft, berth, cgroupsLeft, isRoot, makeBundle, ok, uniqueId, workspace } from './helpers/fixtures.js';

const test = suite('runc flags');
const { dir, root, rootfs } = workspace(test);
const state = (id: string) => JSON.parse(ok(berth(root, ['state', id]), 'state')) as { status: string; pid: number };

/** A unix socket that takes one pidfd and reports the pid it names (from /proc/self/fdinfo). */
async function pidfdReceiver(): Promise<{ socket: string; pid: Promise<number> }> {
  const socket = join(dir, `pidfd-${uniqueId('s')}.sock`);
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print("listening", flush=True)',
    'c, _ = s.accept(); msg, fds, flags, addr = socket.recv_fds(c, 64, 1)',
    'print([l.split()[1] for l in open(f"/proc/self/fdinfo/{fds[0]}") if l.startswith("Pid:")][0], flush=True)',
  ].join('\n');
  const child = spawn('python3', ['-c', script, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise<void>((r) => child.stdout.on('data', () => out.includes('listening') && r()));
  return { socket, pid: new Promise((r) => child.on('exit', () => r(Number(out.split('\n')[1])))) };
}

test('--pidfd-socket: create sends a pidfd of the container process, exec one of its process', async () => {
  const id = uniqueId('pidfd');
  const created = await pidfdReceiver();
  ok(berth(root, ['create', '--pidfd-socket', created.socket, '--bundle', makeBundle(join(dir, id), rootfs, ['sleep', '60']), id]), 'create');
  assert.is(await created.pid, state(id).pid);
  ok(berth(root, ['start', id]), 'start');
  const execd = await pidfdReceiver();
  const pidFile = join(dir, `${id}-exec.pid`);
  ok(berth(root, ['exec', '-d', '--pid-file', pidFile, '--pidfd-socket', execd.socket, id, 'sleep', '60']), 'exec');
  assert.is(await execd.pid, Number(readFileSync(pidFile, 'utf8')));
  ok(berth(root, ['delete', '--force', id]), 'delete');
  assertNothingLeft(root, id, dir);
});

test('exec --cgroup: a cgroup below the container\'s, for every hierarchy or the ones named; one that is not there is one line', () => {
  const id = uniqueId('subcg');
  ok(berth(root, ['run', '-d', '--bundle', makeBundle(join(dir, id), rootfs, ['sleep', '60']), id]), 'run -d');
  const pidsDir = `/sys/fs/cgroup/pids/berth-${id}`;
  mkdirSync(join(pidsDir, 'sub'));
  const out = ok(berth(root, ['exec', '--cgroup', 'pids:sub', id, 'sh', '-c', 'grep -E ":(pids|memory):" /proc/self/cgroup | sort']), 'exec --cgroup');
  assert.match(out, /:memory:\/\n.*:pids:\/sub\n$/, 'pids: the sub-cgroup (seen from the cgroup namespace); memory: the container\'s own');
  const missing = berth(root, ['exec', '--cgroup', 'sub', id, 'true']);
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /^--cgroup sub: \/sys\/fs\/cgroup\/[^/]+\/berth-.+\/sub does not exist\n$/);
  const outside = berth(root, ['exec', '--cgroup', 'pids:../..', id, 'true']);
  assert.is(outside.stderr, "--cgroup pids:../..: not a cgroup below the container's\n");
  assert.is(berth(root, ['exec', '--cgroup', 'nosuch:sub', id, 'true']).stderr, '--cgroup nosuch:sub: the container has no cgroup of controller "nosuch"\n');
  // delete removes the cgroups made inside the container's, as runc does
  ok(berth(root, ['delete', '--force', id]), 'delete');
  assert.not.ok(existsSync(pidsDir));
  assertNothingLeft(root, id, dir);
});

test('run --keep: the container stays, stopped, after its program exits; --keep with --detach is a usage error', () => {
  const id = uniqueId('keep');
  const r = berth(root, ['run', '--keep', '--bundle', makeBundle(join(dir, id), rootfs, ['sh', '-c', 'exit 3']), id]);
  assert.is(r.status, 3);
  assert.is(state(id).status, 'stopped');
  ok(berth(root, ['delete', id]), 'delete');
  assertNothingLeft(root, id, dir);
  const both = berth(root, ['run', '--keep', '-d', '--bundle', join(dir, id), uniqueId('keep')]);
  assert.is(both.status, 1);
  assert.match(both.stderr, /--keep and --detach cannot be used together/);
});

test('--systemd-cgroup and Intel RDT schemata: refused in one line, nothing made', () => {
  const id = uniqueId('systemd');
  const r = berth(root, ['--systemd-cgroup', 'create', '--bundle', makeBundle(join(dir, id), rootfs, ['true']), id]);
  assert.is(r.status, 1);
  assert.is(r.stderr, '--systemd-cgroup: berth has no systemd cgroup driver: it manages cgroups through cgroupfs\n');
  assertNothingLeft(root, id, dir);
  const live = uniqueId('rdt');
  ok(berth(root, ['run', '-d', '--bundle', makeBundle(join(dir, live), rootfs, ['sleep', '60']), live]), 'run -d');
  const u = berth(root, ['update', '--l3-cache-schema', 'L3:0=ff', live]);
  assert.is(u.status, 1);
  assert.match(u.stderr, /^--l3-cache-schema: (this host has no resctrl file system \(\/sys\/fs\/resctrl\)|Intel RDT is not supported yet)\n$/);
  ok(berth(root, ['delete', '--force', live]), 'delete');
});

test('--cgroup-manager: disabled gives the container no cgroup (limits then one line), systemd is refused, cgroupfs is the way berth works', () => {
  const id = uniqueId('nocg');
  const b = makeBundle(join(dir, id), rootfs, ['sh', '-c', 'echo ran']);
  assert.is(ok(berth(root, ['--cgroup-manager', 'disabled', 'run', '--bundle', b, id]), 'run'), 'ran\n');
  assert.equal(cgroupsLeft(`berth-${id}`), []);
  const limited = makeBundle(join(dir, `${id}-limited`), rootfs, ['true'], (c) => (c.linux.resources = { pids: { limit: 10 } }));
  assert.is(berth(root, ['--cgroup-manager', 'disabled', 'create', '--bundle', limited, uniqueId('nocg')]).stderr, 'linux.resources.pids: needs a cgroup, and with --cgroup-manager disabled it gets none\n');
  assert.is(berth(root, ['--cgroup-manager', 'systemd', 'create', '--bundle', b, uniqueId('nocg')]).stderr, '--cgroup-manager systemd: berth has no systemd cgroup driver: it manages cgroups through cgroupfs\n');
  assert.is(berth(root, ['--cgroup-manager', 'cgroupfs', 'run', '--bundle', b, uniqueId('cg')]).status, 0);
  assert.match(berth(root, ['--cgroup-manager', 'none', 'list']).stderr, /--cgroup-manager must be cgroupfs, disabled or systemd/);
});

if (isRoot) test.run();
else console.log('runc flags: skipped (needs root)');
