// Bad input: one line naming what is wrong, a non-zero exit, and nothing left behind — no state
// folder, no cgroup, no mount, no process.
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConfigWithProcess as Config } from '../native/spec/config.js';
import { assertNothingLeft, berth, cleanupRoot, containerFolders, isRoot, makeBundle, uniqueId, workspace } from './helpers/fixtures.js';

const test = suite('bad input');
const { dir, root, rootfs } = workspace(test);

/** create with a config changed by PATCH must fail with MESSAGE (a regexp) and leave nothing. */
function refused(patch: (c: Config) => void, message: RegExp) {
  const id = uniqueId('bad');
  const b = makeBundle(join(dir, id), rootfs, ['true'], patch);
  const r = berth(root, ['create', '--bundle', b, id]);
  assert.is(r.status, 1, `create must fail: ${r.stderr}`);
  assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr.trim(), message);
  assertNothingLeft(root, id, dir);
}

test('config values: the message names the config path', () => {
  refused((c) => c.linux.namespaces.push({ type: 'foo' as never }), /^linux\.namespaces\[6\]\.type: unknown namespace "foo"$/);
  refused((c) => ((c.process as unknown as { cwd: string }).cwd = 'relative'), /^process\.cwd: must be an absolute path, not "relative"$/);
  refused((c) => c.mounts.push({ destination: '/x', type: 'bind', source: '/no/such/source', options: ['rbind'] }), /^mounts\[7\]\.source: "\/no\/such\/source" does not exist$/);
  refused((c) => (c.process.capabilities = { bounding: ['CAP_FLY'] }), /^process\.capabilities\.bounding\[0\]: unknown capability "CAP_FLY"$/);
  refused((c) => (c.linux.sysctl = { 'vm.swappiness': '0' }), /^linux\.sysctl\.vm\.swappiness: is not confined by a namespace/);
  refused((c) => (c.root.path = join(dir, 'no-rootfs')), /^root\.path: ".*no-rootfs" does not exist$/);
});

test('runtime-spec 1.3 fields berth cannot apply are refused by path, never dropped', () => {
  const raw = (c: Config) => c as unknown as { linux: Record<string, unknown>; process: Record<string, unknown>; mounts: Record<string, unknown>[] };
  refused((c) => (raw(c).linux.netDevices = { eth9: { name: 'a:b' } }), /^linux\.netDevices\.eth9\.name: "a:b" is not a network device name \(1 to 15 bytes, no "\/", ":" or space, at most one %d\)$/);
  refused((c) => (raw(c).linux.netDevices = { 'eth%d': {} }), /^linux\.netDevices\.eth%d: "eth%d" is not a network device name \(1 to 15 bytes, no "\/", ":" or space\)$/);
  refused((c) => (raw(c).linux.netDevices = { eth9: { name: 'a%d%d' } }), /^linux\.netDevices\.eth9\.name: "a%d%d" is not/);
  refused((c) => (raw(c).linux.netDevices = { eth9: { name: 'abcdefghijklmnop' } }), /^linux\.netDevices\.eth9\.name: "abcdefghijklmnop" is not/);
  refused((c) => (raw(c).linux.netDevices = { eth9: {} }), /^linux\.netDevices\.eth9: berth's network namespace has no device "eth9"$/);
  refused((c) => (raw(c).linux.intelRdt = { closID: 'x' }), /^linux\.intelRdt: (this host has no resctrl file system \(\/sys\/fs\/resctrl\)|Intel RDT is not supported yet)$/);
  refused((c) => (raw(c).linux.memoryPolicy = { mode: 'MPOL_BIND' }), /^linux\.memoryPolicy\.nodes: MPOL_BIND needs at least one node$/);
  refused((c) => (raw(c).linux.memoryPolicy = { mode: 'MPOL_LOCAL', nodes: '0' }), /^linux\.memoryPolicy\.nodes: MPOL_LOCAL takes no nodes$/);
  refused((c) => (raw(c).linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] }), /^linux\.memoryPolicy\.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other$/);
  refused((c) => (raw(c).linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_FAST'] }), /^linux\.memoryPolicy\.flags\[0\]: unknown value "MPOL_F_FAST"/);
  refused((c) => (raw(c).linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '1024' }), /^linux\.memoryPolicy\.nodes: "1024" is not a range of NUMA nodes \(0\.\.1023\)$/);
  // A node the host does not have: the kernel's refusal, in the step's words.
  refused((c) => (raw(c).linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '1000' }), /^set the memory policy MPOL_BIND on nodes 1000: EINVAL/);
  refused((c) => (raw(c).mounts[0]!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), /^mounts\[0\]\.gidMappings: is required with the other \(an idmapped mount maps both\)$/);
  refused((c) => ((raw(c).mounts[0]!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), (raw(c).mounts[0]!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }])), /^mounts\[0\]\.uidMappings: is for bind mounts only$/);
  refused((c) => (raw(c).linux.personality = { domain: 'LINUX64' }), /^linux\.personality\.domain: unknown value "LINUX64" \(LINUX, LINUX32\)$/);
  refused((c) => (raw(c).linux.personality = { domain: 'LINUX', flags: ['X'] }), /^linux\.personality\.flags\[0\]: unknown flag "X" \(none is defined\)$/);
  refused((c) => (raw(c).linux.timeOffsets = { boottime: { secs: 10 } }), /^linux\.timeOffsets: needs a time namespace of the container's own/);
  refused((c) => (raw(c).process.scheduler = { policy: 'SCHED_FAST' }), /^process\.scheduler\.policy: unknown value "SCHED_FAST" \(SCHED_OTHER, /);
  refused((c) => (raw(c).process.scheduler = { policy: 'SCHED_OTHER', nice: 40 }), /^process\.scheduler\.nice: 40 is out of range \(-20\.\.19\)$/);
  refused((c) => (raw(c).process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 }), /^process\.ioPriority\.priority: 8 is out of range \(0\.\.7\)$/);
  refused((c) => (raw(c).process.execCPUAffinity = { final: '3-1' }), /^process\.execCPUAffinity\.final: "3-1" is not a range of CPUs/);
});

test("fields berth does not know are no bad input (runtime-spec's forward compatibility): the container runs, a warning names them", () => {
  const id = uniqueId('future');
  const b = makeBundle(join(dir, id), rootfs, ['true'], (c) => ((c.linux.resources = { pids: { limit: 50, future: 1 } } as never), ((c as unknown as Record<string, unknown>).futureTop = {})));
  const r = berth(root, ['run', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /^time="[^"]+" level=warn msg="config\.json: fields this berth does not know are ignored: linux\.resources\.pids\.future"\n$/);
  assertNothingLeft(root, id, dir);
});

test("a config without a process (config.md: OPTIONAL): created; start fails in one line and it stays created (runtime.md: MUST); run leaves nothing", () => {
  const id = uniqueId('noproc');
  const b = makeBundle(join(dir, id), rootfs, ['true'], (c) => delete (c as Partial<typeof c>).process);
  assert.is(berth(root, ['create', '--bundle', b, id]).status, 0);
  const started = berth(root, ['start', id]);
  assert.equal([started.status, started.stderr], [1, "the container has no process to start: its config.json's process is not set\n"]);
  assert.is(JSON.parse(berth(root, ['state', id]).stdout).status, 'created');
  assert.match(berth(root, ['exec', id, 'true']).stderr, /^the container's config\.json has no process to base the exec'd one on: give a whole one \(--process\)\n$/);
  assert.is(berth(root, ['delete', '--force', id]).status, 0);
  assertNothingLeft(root, id, dir);
  const ran = berth(root, ['run', '--bundle', b, id]);
  assert.equal([ran.status, ran.stderr], [1, "the container has no process to start: its config.json's process is not set\n"]);
  assertNothingLeft(root, id, dir);
});

test('failures inside the container process name the step and errno, and are undone', () => {
  refused((c) => (c.process.args = ['no-such-program']), /^exec: "no-such-program": executable file not found in \$PATH$/);
  refused((c) => c.mounts.push({ destination: '/x', type: 'nosuchfs', source: 'x', options: [] }), /^mount nosuchfs on \/x: ENODEV \(no such device\)$/);
  refused((c) => c.linux.namespaces.push({ type: 'network', path: '/proc/self/ns/nonexistent' } as never), /linux\.namespaces\[6\]\.type: namespace "network" is listed twice/);
  refused((c) => (c.linux.namespaces = c.linux.namespaces.map((n) => (n.type === 'network' ? { type: 'network', path: '/proc/self/ns/pid' } : n))), /^join the network namespace \/proc\/self\/ns\/pid: EINVAL/);
});

test('a config.json that is not JSON, a bundle that is not there', () => {
  const id = uniqueId('json');
  const b = makeBundle(join(dir, id), rootfs, ['true']);
  writeFileSync(join(b, 'config.json'), '{ "ociVersion": ');
  let r = berth(root, ['create', '--bundle', b, id]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /config\.json: invalid JSON: /);
  assertNothingLeft(root, id, dir);
  r = berth(root, ['create', '--bundle', join(dir, 'nowhere'), id]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /^bundle .*nowhere: no such directory\n$/);
  assertNothingLeft(root, id, dir);
});

test('ids runc refuses', () => {
  const b = makeBundle(join(dir, 'ids'), rootfs, ['true']);
  for (const [id, message] of [
    ['', /^container id cannot be empty$/],
    ['a/b', /^invalid container id format: a\/b$/],
    ['..', /^invalid container id format: \.\.$/],
    ['x y', /^invalid container id format: x y$/],
    ['.', /^invalid container id format: \.$/],
    ['é', /^invalid container id format: é$/],
    ['a:b', /^invalid container id format: a:b$/],
    ['@server', /^invalid container id format: @server$/],
    ['x'.repeat(300), /^invalid container id: 300 characters, more than 255$/],
  ] as const) {
    const r = berth(root, ['create', '--bundle', b, id]);
    assert.is(r.status, 1, id);
    assert.match(r.stderr.trim(), message);
  }
  assert.equal(containerFolders(root).filter((d) => d !== 'ids'), [], 'no container folder under the root (the server\'s own aside)');
});

test('a --root and a bundle reached through symlinks work as their targets', () => {
  const target = join(dir, 'real-root');
  mkdirSync(target);
  symlinkSync(target, join(dir, 'root-link'));
  symlinkSync(makeBundle(join(dir, 'real-bundle'), rootfs, ['sh', '-c', 'echo through links']), join(dir, 'bundle-link'));
  const id = uniqueId('links');
  const r = berth(join(dir, 'root-link'), ['run', '--bundle', join(dir, 'bundle-link'), id]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'through links\n');
  assert.ok(existsSync(join(target, '@server')), "the server's folder is in the target");
  cleanupRoot(join(dir, 'root-link'));
  rmSync(target, { recursive: true, force: true });
  assertNothingLeft(target, id, dir);
});

test('unknown ids: an error, but for delete --force, which has nothing to do (as runc and crun)', () => {
  for (const op of [['start'], ['state'], ['kill'], ['delete']]) {
    const r = berth(root, [...op, 'never-created']);
    assert.is(r.status, 1, op.join(' '));
    assert.is(r.stderr, 'container does not exist\n', op.join(' '));
  }
  const forced = berth(root, ['delete', '--force', 'never-created']);
  assert.is(forced.status, 0, forced.stderr);
  assert.is(forced.stderr, '');
  assert.not.ok(existsSync(join(root, 'never-created')));
});

test('usage errors are one line too', () => {
  const r = berth(root, ['create', '--frobnicate', 'x']);
  assert.is(r.status, 1);
  assert.is(r.stderr, 'flag provided but not defined: -frobnicate\n');
});

if (isRoot) test.run();
else console.log('bad input: skipped (needs root)');
