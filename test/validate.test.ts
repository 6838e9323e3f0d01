// config.json validation: each error names the config path of what is wrong.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultSpec } from '../native/spec/defaults.js';
import { ConfigError, parseConfig } from '../native/spec/validate.js';

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
  assert.is(c.process.args[0], 'sh');
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

test.run();
