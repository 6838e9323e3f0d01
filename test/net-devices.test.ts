// linux.netDevices: a host network device moved into the container's network namespace with its
// permanent global addresses, and up. The "host" is a network namespace of the test's own, kept by a
// sleeping process (no mount of it anywhere), with veth pairs in it; berth runs in it through
// nsenter, and so does the server its first call starts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConfigWithProcess as Config } from '../native/spec/config.js';
import { assertNothingLeft, berth, isRoot, makeBundle, networkNamespace, ok, stopServer, testCriu, uniqueId, workspace, type NetworkNamespace } from './helpers/fixtures.js';

const test = suite('network devices');
let keeper: NetworkNamespace | undefined;
const { dir, root, rootfs } = workspace(test, () => {
  // The server first: it lives in the test's namespace. Then the namespace, with whatever is in it.
  stopServer(root);
  keeper?.end();
});
let netns = '';

/** `ip ARGS` in the test's network namespace; its output. */
function ip(...args: string[]): string {
  const r = spawnSync('nsenter', [`--net=${netns}`, 'ip', ...args], { encoding: 'utf8' });
  assert.is(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A veth pair NAME/NAME-p in the test's namespace, NAME with ADDRESSES (ip addr add arguments each). */
function veth(name: string, ...addresses: string[][]): void {
  ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}-p`);
  for (const a of addresses) ip('addr', 'add', ...a, 'dev', name);
}

const netDevices = (devices: Record<string, { name?: string }>) => (c: Config) => ((c as unknown as { linux: Record<string, unknown> }).linux.netDevices = devices);

function run(script: string, patch: (c: Config) => void) {
  const id = uniqueId('nd');
  const r = berth(root, ['run', '--bundle', makeBundle(join(dir, id), rootfs, ['sh', '-c', script], patch), id], { netns });
  return { id, ...r };
}

test.before(() => {
  if (!isRoot) return;
  keeper = networkNamespace(); // lo up: CRIU's check binds to it
  netns = keeper.path;
});

test('moved in with its permanent global addresses, renamed, up; a host-scope address stays behind', () => {
  if (!isRoot) return;
  veth('nd0', ['10.9.8.7/24'], ['fd00::7/64', 'nodad']);
  veth('nd1', ['10.1.1.1/32', 'scope', 'host']);
  const r = run('ip -o addr; ip -o link', netDevices({ nd0: { name: 'ctr%d' }, nd1: {} }));
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const addrs = (dev: string) => lines.filter((l) => /^\d+: \S+\s+inet/.test(l) && l.split(/\s+/)[1] === dev).map((l) => l.split(/\s+/).slice(2, 5).join(' '));
  assert.equal(addrs('ctr0'), ['inet 10.9.8.7/24 scope', 'inet6 fd00::7/64 scope'], 'ctr%d numbered by the kernel, both addresses there');
  assert.equal(addrs('nd1'), [], 'a host-scope address is not carried');
  const link = (dev: string) => lines.find((l) => new RegExp(`^\\d+: ${dev}@`).test(l)) ?? '';
  assert.match(link('ctr0'), /<[^>]*\bUP\b/, 'up');
  assert.match(link('nd1'), /<[^>]*\bUP\b/, 'up');
  assertNothingLeft(root, r.id, dir);
  // Gone from the host's namespace, and destroyed with the container's (a veth is virtual): its peer goes with it.
  const deadline = Date.now() + 5000;
  while (ip('-o', 'link').includes('nd0-p') && Date.now() < deadline) spawnSync('sleep', ['0.05']);
  assert.not.ok(/nd[01]/.test(ip('-o', 'link')), "the veths went with the container's namespace");
});

test('a device berth has not, or a name the container has already: one line naming the path, nothing left, the device where it was', () => {
  if (!isRoot) return;
  veth('nd2');
  let r = run('true', netDevices({ nope: {} }));
  assert.is(r.status, 1);
  assert.is(r.stderr, 'linux.netDevices.nope: berth\'s network namespace has no device "nope"\n');
  assertNothingLeft(root, r.id, dir);
  r = run('true', netDevices({ nd2: { name: 'lo' } }));
  assert.is(r.status, 1);
  assert.is(r.stderr, 'linux.netDevices.nd2.name: the container\'s network namespace has a device "lo" already (a %d in the name lets the kernel number it)\n');
  assertNothingLeft(root, r.id, dir);
  assert.match(ip('-o', 'link'), /: nd2@/, 'not moved');
  r = run('true', (c) => (netDevices({ nd2: {} })(c), (c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'network'))));
  assert.is(r.stderr, 'linux.netDevices: needs a network namespace of the container\'s (add {"type": "network"} to linux.namespaces)\n');
  assert.not.ok(existsSync(join(root, r.id)));
});

test('a container that fails after the move leaves nothing, and the device goes with its namespace', () => {
  if (!isRoot) return;
  veth('nd3');
  const r = run('true', (c) => (netDevices({ nd3: {} })(c), (c.process.args = ['no-such-program'])));
  assert.is(r.status, 1);
  assert.match(r.stderr, /^exec: "no-such-program": executable file not found/);
  assertNothingLeft(root, r.id, dir);
  const deadline = Date.now() + 5000;
  while (ip('-o', 'link').includes('nd3') && Date.now() < deadline) spawnSync('sleep', ['0.05']);
  assert.not.ok(ip('-o', 'link').includes('nd3'));
});

test('restored: the devices moved in again, into the namespace CRIU made', () => {
  if (!isRoot || spawnSync(testCriu(), ['check']).status !== 0) return;
  veth('nd4', ['10.4.4.4/24']);
  const id = uniqueId('ndc');
  const bundle = makeBundle(join(dir, id), rootfs, ['sleep', '600'], netDevices({ nd4: { name: 'eth0' } }));
  const call = (...args: string[]) => berth(root, ['--criu', testCriu(), ...args], { netns });
  ok(call('run', '-d', '--bundle', bundle, id), 'run -d');
  const address = () => ok(call('exec', id, 'ip', '-o', 'addr', 'show', 'eth0'), 'exec').match(/inet (\S+)/)?.[1];
  assert.is(address(), '10.4.4.4/24');
  // CRIU cannot dump a veth: the network is left out, and nd4 dies with the namespace.
  ok(call('checkpoint', '--empty-ns', 'network', '--image-path', join(dir, `${id}-images`), id), 'checkpoint');
  ok(call('delete', id), 'delete');
  const deadline = Date.now() + 5000;
  while (ip('-o', 'link').includes('nd4') && Date.now() < deadline) spawnSync('sleep', ['0.05']);
  veth('nd4', ['10.4.4.5/24']);
  ok(call('restore', '-d', '--image-path', join(dir, `${id}-images`), '--bundle', bundle, id), 'restore');
  assert.is(address(), '10.4.4.5/24', "the host's device as it is now");
  ok(call('delete', '-f', id), 'delete -f');
  assertNothingLeft(root, id, dir);
});

test.run();
