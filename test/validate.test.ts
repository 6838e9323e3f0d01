// config.json validation: each error names the config path of what is wrong.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultSpec } from '../native/spec/defaults.js';
import { ConfigError, parseConfig, parseResources, specAtLeast } from '../native/spec/validate.js';

const base = () => JSON.parse(JSON.stringify(defaultSpec()));

function fails(mutate: (c: any) => void, message: string) {
  const c = base();
  mutate(c);
  try {
    parseConfig(c);
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.is((e as Error).message, message);
    return;
  }
  assert.unreachable(`expected: ${message}`);
}

test('the default spec is valid', () => {
  const c = parseConfig(base());
  assert.is(c.process?.args[0], 'sh');
  assert.is(c.linux.namespaces.length, 6);
});

test('unknown namespace type names its path', () => {
  fails((c) => c.linux.namespaces.push({ type: 'foo' }), 'linux.namespaces[6].type: unknown namespace "foo"');
});

test('duplicate namespace', () => {
  fails((c) => c.linux.namespaces.push({ type: 'pid' }), 'linux.namespaces[6].type: namespace "pid" is listed twice (also at [0])');
});

test('types and required fields', () => {
  fails((c) => delete c.process.args, 'process.args: is required');
  fails((c) => (c.process.args = []), 'process.args: must name a program');
  fails((c) => (c.process.args = ['sh', 3]), 'process.args[1]: must be a string, not a number');
  fails((c) => (c.process.cwd = 'tmp'), 'process.cwd: must be an absolute path, not "tmp"');
  fails((c) => (c.process.user.uid = -1), 'process.user.uid: -1 is out of range (0..4294967295)');
  fails((c) => (c.process.env = ['NOEQUALS']), 'process.env[0]: "NOEQUALS" is not KEY=VALUE');
  fails((c) => (c.mounts[2].destination = 'dev/pts'), 'mounts[2].destination: must be an absolute path, not "dev/pts"');
  fails((c) => (c.root = 'rootfs'), 'root: must be an object, not a string');
  fails((c) => delete c.ociVersion, 'ociVersion: is required');
  fails((c) => (c.linux.devices = [{ type: 'x', path: '/dev/x' }]), 'linux.devices[0].type: unknown device type "x" (c, b, u or p)');
  fails((c) => (c.linux.devices = [{ type: 'c', path: '/dev/x', major: 1 }]), 'linux.devices[0].minor: is required');
  fails((c) => (c.linux.rootfsPropagation = 'sideways'), 'linux.rootfsPropagation: unknown propagation "sideways" (private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable)');
  fails((c) => (c.annotations = { a: 1 }), 'annotations.a: must be a string, not a number');
});

test('a fifo device needs no numbers', () => {
  const c = base();
  c.linux.devices = [{ type: 'p', path: '/dev/fifo' }];
  assert.is(parseConfig(c).linux.devices[0]!.major, 0);
});

test("a device's fileMode may carry its own file type bits, as podman writes it; another type's are refused", () => {
  const c = base();
  c.linux.devices = [{ type: 'c', path: '/dev/mynull', major: 1, minor: 3, fileMode: 0o20666 }];
  assert.is(parseConfig(c).linux.devices[0]!.fileMode, 0o666);
  fails((c) => (c.linux.devices = [{ type: 'c', path: '/dev/x', major: 8, minor: 0, fileMode: 0o60660 }]), 'linux.devices[0].fileMode: file type bits 0o60000 are not those of a "c" device');
  fails((c) => (c.linux.devices = [{ type: 'b', path: '/dev/x', major: 8, minor: 0, fileMode: 0o1000000 }]), 'linux.devices[0].fileMode: 262144 is out of range (0..65535)');
});

test("a cgroupsPath in systemd's slice:prefix:name form is refused by path: berth writes cgroupfs", () => {
  fails((c) => (c.linux.cgroupsPath = 'system.slice:crio:abc'), 'linux.cgroupsPath: "system.slice:crio:abc" is a systemd unit name (slice:prefix:name); berth manages cgroups through cgroupfs, so give a path');
  const c = base();
  c.linux.cgroupsPath = '/k8s.io/a:b';
  assert.is(parseConfig(c).linux.cgroupsPath, '/k8s.io/a:b', 'an absolute path may hold colons');
  fails((c) => (c.linux.cgroupsPath = '/a/../..'), `linux.cgroupsPath: "/a/../.." names the hierarchy's root, not one of the container's own`);
  fails((c) => (c.linux.cgroupsPath = '.'), `linux.cgroupsPath: "." names berth's own cgroup, not one of the container's own`);
});

const M = 'linux.resources.memory';
const C = 'linux.resources.cpu';
const B = 'linux.resources.blockIO';
const D = 'linux.resources.devices';

test('linux.resources: types, ranges and forms, by path', () => {
  const bad = (resources: unknown, message: string) => fails((c) => (c.linux.resources = resources), message);
  bad({ memory: { limit: -2 } }, `${M}.limit: -2 is out of range (-1..9223372036854776000)`);
  bad({ memory: { limit: '1G' } }, `${M}.limit: must be an integer, not a string`);
  bad({ memory: { swappiness: 101 } }, `${M}.swappiness: 101 is out of range (0..100)`);
  bad({ memory: { disableOOMKiller: 1 } }, `${M}.disableOOMKiller: must be a boolean, not a number`);
  bad({ cpu: { shares: -1 } }, `${C}.shares: -1 is out of range (0..18446744073709552000)`);
  bad({ cpu: { quota: -5 } }, `${C}.quota: -5 is out of range (-1..9223372036854776000)`);
  bad({ cpu: { idle: 2 } }, `${C}.idle: 2 is out of range (0..1)`);
  bad({ cpu: { cpus: '0-3,a' } }, `${C}.cpus: "0-3,a" is not a list like 0-3,7`);
  bad({ cpu: { quota: 1000, burst: 2000 } }, `${C}.burst: 2000 is above quota 1000`);
  bad({ pids: { limit: -2 } }, 'linux.resources.pids.limit: -2 is out of range (-1..9223372036854776000)');
  bad({ devices: [{ access: 'rwm' }] }, `${D}[0].allow: is required`);
  bad({ devices: [{ allow: true, type: 'u' }] }, `${D}[0].type: unknown device type "u" (a, b or c)`);
  bad({ devices: [{ allow: true, access: 'rx' }] }, `${D}[0].access: "rx" is not a combination of r, w and m`);
  bad({ devices: [{ allow: true, access: '' }] }, `${D}[0].access: "" is not a combination of r, w and m`);
  bad({ devices: [{ allow: true, major: -2 }] }, `${D}[0].major: -2 is out of range (-1..4294967295)`);
  bad({ blockIO: { weight: 5 } }, `${B}.weight: 5 is out of range (10..1000)`);
  bad({ blockIO: { weightDevice: [{ major: 8, minor: 0 }] } }, `${B}.weightDevice[0]: needs weight, leafWeight or both`);
  bad({ blockIO: { weightDevice: [{ major: 8, weight: 10 }] } }, `${B}.weightDevice[0].minor: is required`);
  bad({ blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: -1 }] } }, `${B}.throttleReadBpsDevice[0].rate: -1 is out of range (0..18446744073709552000)`);
  bad({ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, 'linux.resources.hugepageLimits[0].pageSize: "2M" is not a size like 64KB, 2MB or 1GB');
  bad({ hugepageLimits: [{ pageSize: '2MB' }] }, 'linux.resources.hugepageLimits[0].limit: is required');
  bad({ network: { classID: 2 ** 32 } }, 'linux.resources.network.classID: 4294967296 is out of range (0..4294967295)');
  bad({ network: { priorities: [{ name: 'eth 0', priority: 1 }] } }, 'linux.resources.network.priorities[0].name: "eth 0" is not an interface name');
  bad({ rdma: { mlx: {} } }, 'linux.resources.rdma.mlx: needs hcaHandles, hcaObjects or both');
  bad({ rdma: { mlx: { hcaHandles: -1 } } }, 'linux.resources.rdma.mlx.hcaHandles: -1 is out of range (0..4294967295)');
  bad({ unified: { '../memory.max': '1' } }, 'linux.resources.unified.../memory.max: "../memory.max" is not a cgroup file name');
  bad({ unified: { '..': '1' } }, 'linux.resources.unified...: ".." is not a cgroup file name');
  bad({ unified: { 'memory.max': 1 } }, 'linux.resources.unified.memory.max: must be a string, not a number');
});

test("fields berth does not know are ignored, as runtime-spec's config.md wants, and named; outside config.json (update's resources) they are errors", () => {
  const c = base();
  c.linux.resources = { memry: {}, memory: { limt: 1 }, pids: { limit: 5, max: 1 }, devices: [{ allow: true, path: '/dev/null' }] };
  c.linux.memoryPolicy = { mode: 'MPOL_LOCAL', weight: 3 };
  c.someFutureField = { x: 1 };
  const ignored: string[] = [];
  const parsed = parseConfig(c, ignored);
  assert.is(parsed.linux.resources!.pids!.limit, 5, 'what berth knows is still read');
  assert.equal(ignored.sort(), ['linux.memoryPolicy.weight', 'linux.resources.devices[0].path', 'linux.resources.memory.limt', 'linux.resources.memry', 'linux.resources.pids.max']);
  assert.throws(() => parseResources({ memry: {} }, 'resources'), (e: Error) => e.message === 'resources.memry: unknown field (known: devices, memory, cpu, pids, blockIO, hugepageLimits, network, rdma, unified)');
});

test('linux.resources: what passes is typed, absent fields stay absent', () => {
  const c = base();
  c.linux.resources = { pids: { limit: 0 }, memory: { limit: -1 }, devices: [{ allow: true }] };
  const r = parseConfig(c).linux.resources!;
  assert.is(r.pids!.limit, 0);
  assert.is(r.memory!.limit, -1);
  assert.is(r.memory!.swap, undefined);
  assert.equal(r.devices, [{ allow: true, type: undefined, major: undefined, minor: undefined, access: undefined }]);
});

test('which runtime-spec a bundle follows: its ociVersion, a pre-release as its release', () => {
  assert.ok(specAtLeast('1.3.0', '1.3.0'));
  assert.ok(specAtLeast('1.3.0-rc.1', '1.3.0'));
  assert.ok(specAtLeast('1.10.0', '1.3.0'));
  assert.ok(!specAtLeast('1.2.1', '1.3.0'));
  assert.ok(!specAtLeast('1.0.2-dev', '1.3.0'));
  assert.ok(specAtLeast('2.0.0', '1.3.0'));
});

test.run();
