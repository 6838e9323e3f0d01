// stop (the seed's) and start --restart: processes end, the container and the namespaces that can
// outlive them stay, and a restart runs a new process in them.
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../native/spec/config.js';
import { assertNothingLeft, berth, isRoot, makeBundle, mountsUnder, ok, uniqueId, workspace } from './helpers/fixtures.js';

const test = suite('stop and restart');
const { dir, root, rootfs } = workspace(test);

const state = (id: string) => JSON.parse(ok(berth(root, ['state', id]), 'state'));
const ns = (pid: number, type: string) => readlinkSync(`/proc/${pid}/ns/${type}`);

function running(args: string[], patch?: (c: Config) => void): string {
  const id = uniqueId('stop');
  ok(berth(root, ['run', '-d', '--bundle', makeBundle(join(dir, id), rootfs, args, patch), id]), 'run -d');
  return id;
}

test('stop: SIGTERM first; SIGKILL after the timeout for what ignores it', () => {
  const polite = running(['sh', '-c', 'trap "exit 0" TERM; sleep 30 & wait']);
  let start = Date.now();
  ok(berth(root, ['stop', polite]), 'stop');
  assert.ok(Date.now() - start < 3000, 'a process that handles SIGTERM stops at once');
  assert.is(state(polite).status, 'stopped');

  const stubborn = running(['sleep', '30']); // pid 1 of its namespace: SIGTERM without a handler does nothing
  start = Date.now();
  ok(berth(root, ['stop', '-t', '1', stubborn]), 'stop -t 1');
  const took = Date.now() - start;
  assert.ok(took >= 1000 && took < 5000, `SIGKILL after the 1 s timeout (${took} ms)`);
  assert.is(state(stubborn).status, 'stopped');
  const again = berth(root, ['stop', stubborn]);
  assert.is(again.status, 1);
  assert.is(again.stderr, 'container not running\n');
  for (const id of [polite, stubborn]) ok(berth(root, ['delete', id]), 'delete');
});

test('stop keeps the cgroup and the network, ipc and uts namespaces; start --restart runs in them', () => {
  const id = running(['sleep', '30'], (c) => (c.hostname = 'kept'));
  const before = state(id);
  const kept = Object.fromEntries(['net', 'ipc', 'uts', 'pid'].map((t) => [t, ns(before.pid, t)]));
  ok(berth(root, ['stop', '-t', '0', id]), 'stop');
  assert.ok(existsSync(`/sys/fs/cgroup/pids/berth-${id}`), 'the cgroup stays');
  assert.equal(mountsUnder(join(root, id, 'ns')).sort(), ['ipc', 'net', 'uts'].map((t) => join(root, id, 'ns', t)));

  const plain = berth(root, ['start', id]);
  assert.is(plain.status, 1, 'plain start keeps OCI 1.x’s rule');
  assert.is(plain.stderr, 'cannot start a container that has stopped\n');

  ok(berth(root, ['start', '--restart', id]), 'start --restart');
  const after = state(id);
  assert.is(after.status, 'running');
  assert.is.not(after.pid, before.pid);
  for (const t of ['net', 'ipc', 'uts']) assert.is(ns(after.pid, t), kept[t], `the same ${t} namespace`);
  assert.is.not(ns(after.pid, 'pid'), kept.pid, 'a fresh pid namespace');
  assert.is(ok(berth(root, ['exec', id, 'hostname']), 'exec'), 'kept\n');

  const refused = berth(root, ['start', '--restart', id]);
  assert.is(refused.stderr, 'cannot restart a container that is not stopped: running\n');
  ok(berth(root, ['delete', '--force', id]), 'delete');
  assertNothingLeft(root, id, dir);
});

test('a container with a user namespace keeps it too, so the namespaces it owns can be joined', () => {
  const id = running(['sleep', '30'], (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  });
  const userns = ns(state(id).pid, 'user');
  ok(berth(root, ['stop', '-t', '0', id]), 'stop');
  ok(berth(root, ['start', '--restart', id]), 'start --restart');
  assert.is(ns(state(id).pid, 'user'), userns);
  ok(berth(root, ['stop', '-t', '0', id]), 'stop');
  ok(berth(root, ['delete', id]), 'delete of a stopped container');
  assertNothingLeft(root, id, dir);
});

if (isRoot) test.run();
else console.log('stop and restart: skipped (needs root)');
