// pause / resume through cli/berth, checked by effect: a counter loop in the container does not
// advance while it is frozen and does after; kill, delete --force and exec in a paused container;
// the same on cgroup v2 (this hybrid host's cgroup2 mount, with --cgroup-version 2).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertNothingLeft, berth, berthBin, isRoot, makeBundle, ok, uniqueId, workspace } from './helpers/fixtures.js';
import { counterScript, countIn, withTmp } from './helpers/counter.js';
import { sleepSync, waitUntil } from './helpers/wait.js';

const test = suite('pause and resume');
const { dir, root, rootfs } = workspace(test);

const refused = (r: ReturnType<typeof berth>, message: string) => {
  assert.is(r.status, 1);
  assert.is(r.stderr, `${message}\n`);
};


const status = (id: string, r = root) => JSON.parse(ok(berth(r, ['state', id]), 'state')).status as string;

/** A running container counting; returns its id and a reader of the count. */
function counting(version: 1 | 2 = 1) {
  const id = uniqueId(`pause-v${version}`);
  ok(berth(root, ['--cgroup-version', String(version), 'run', '-d', '-b', makeBundle(join(dir, id), rootfs, ['sh', '-c', counterScript(0.1)], withTmp), id]), 'run -d');
  const pid = JSON.parse(ok(berth(root, ['state', id]), 'state')).pid as number;
  const count = () => countIn(pid);
  assert.ok(waitUntil(() => count() > 0, 10_000), 'the counter runs');
  return { id, pid, count };
}

/** While paused the count does not move for half a second; returns where it stands. */
function standing(count: () => number): number {
  const before = count();
  sleepSync(500);
  assert.is(count(), before, 'the counter stands while paused');
  return before;
}

test('pause freezes every process, state says paused; resume lets them run again', () => {
  const { id, count } = counting();
  ok(berth(root, ['pause', id]), 'pause');
  assert.is(readFileSync(`/sys/fs/cgroup/freezer/berth-${id}/freezer.state`, 'utf8').trim(), 'FROZEN');
  assert.is(status(id), 'paused');
  const frozenAt = standing(count);
  assert.equal(JSON.parse(ok(berth(root, ['list', '--format', 'json']), 'list')).find((c: { id: string }) => c.id === id).status, 'paused');

  refused(berth(root, ['pause', id]), 'container already paused');
  refused(berth(root, ['start', id]), 'cannot start a container in the paused state');
  refused(berth(root, ['delete', id]), `cannot delete container ${id} that is not stopped: paused`);
  refused(berth(root, ['exec', id, 'true']), 'cannot exec in a paused container (use --ignore-paused to override)');

  ok(berth(root, ['resume', id]), 'resume');
  assert.is(status(id), 'running');
  assert.ok(waitUntil(() => count() > frozenAt, 10_000), 'the counter moves again');
  refused(berth(root, ['resume', id]), 'container not paused');
  ok(berth(root, ['pause', id]), 'pause');
  ok(berth(root, ['unpause', id]), 'unpause, the same as resume');
  assert.is(status(id), 'running');
  ok(berth(root, ['delete', '-f', id]), 'delete');
});

test('pause is refused for a created and a stopped container', () => {
  const id = uniqueId('pause-created');
  ok(berth(root, ['create', '-b', makeBundle(join(dir, id), rootfs, ['sh', '-c', 'exit 0']), id]), 'create');
  refused(berth(root, ['pause', id]), 'container not running');
  refused(berth(root, ['resume', id]), 'container not paused');
  ok(berth(root, ['start', id]), 'start');
  assert.ok(waitUntil(() => status(id) === 'stopped'));
  refused(berth(root, ['pause', id]), 'container not running');
  ok(berth(root, ['delete', id]), 'delete');
});

test('delete --force of a paused container kills it and leaves nothing', () => {
  const { id, pid } = counting();
  ok(berth(root, ['pause', id]), 'pause');
  ok(berth(root, ['delete', '--force', id]), 'delete -f');
  assert.not.ok(existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), 'the process is gone');
  assertNothingLeft(root, id, dir);
});

test('kill in a paused container: SIGKILL kills it at once, other signals wait for resume', () => {
  const killed = counting();
  ok(berth(root, ['pause', killed.id]), 'pause');
  ok(berth(root, ['kill', killed.id, 'KILL']), 'kill KILL');
  assert.ok(waitUntil(() => status(killed.id) === 'stopped'), 'SIGKILL needs no resume');
  ok(berth(root, ['delete', killed.id]), 'delete');

  const id = uniqueId('pause-usr1');
  ok(berth(root, ['run', '-d', '-b', makeBundle(join(dir, id), rootfs, ['sh', '-c', 'trap "exit 3" USR1; while true; do sleep 0.1; done']), id]), 'run -d');
  // pid 1 ignores a signal it has no handler for: wait until sh catches USR1 (10: bit 9 of SigCgt).
  const pid = JSON.parse(ok(berth(root, ['state', id]), 'state')).pid as number;
  const catchesUsr1 = () => (BigInt(`0x${/^SigCgt:\s*(\w+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]}`) >> 9n) & 1n;
  assert.ok(waitUntil(() => catchesUsr1() === 1n), 'the trap is set');
  ok(berth(root, ['pause', id]), 'pause');
  ok(berth(root, ['kill', id, 'USR1']), 'kill USR1');
  sleepSync(300);
  assert.is(status(id), 'paused', 'the signal waits while frozen');
  ok(berth(root, ['resume', id]), 'resume');
  assert.ok(waitUntil(() => status(id) === 'stopped'), 'delivered on resume');
  ok(berth(root, ['delete', id]), 'delete');
});

test('exec --ignore-paused into a paused container runs once it is resumed', async () => {
  const { id } = counting();
  ok(berth(root, ['pause', id]), 'pause');
  const child = spawn(berthBin, ['--root', root, 'exec', '--ignore-paused', id, 'sh', '-c', 'echo exec-ran'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  await new Promise((r) => setTimeout(r, 500));
  assert.is(out, '', 'its process is frozen with the container');
  ok(berth(root, ['resume', id]), 'resume');
  assert.is(await exited, 0);
  assert.is(out, 'exec-ran\n');
  ok(berth(root, ['delete', '-f', id]), 'delete');
});

test('cgroup v2: cgroup.freeze, frozen in cgroup.events; delete --force while paused', () => {
  const { id, count, pid } = counting(2);
  const cgroup = `/sys/fs/cgroup/unified/berth-${id}`;
  assert.ok(readFileSync(`${cgroup}/cgroup.procs`, 'utf8').includes(String(pid)), 'the container has a cgroup on cgroup2');
  ok(berth(root, ['pause', id]), 'pause');
  assert.match(readFileSync(`${cgroup}/cgroup.events`, 'utf8'), /^frozen 1$/m);
  assert.is(status(id), 'paused');
  const frozenAt = standing(count);
  ok(berth(root, ['resume', id]), 'resume');
  assert.match(readFileSync(`${cgroup}/cgroup.events`, 'utf8'), /^frozen 0$/m);
  assert.ok(waitUntil(() => count() > frozenAt, 10_000), 'the counter moves again');
  ok(berth(root, ['pause', id]), 'pause');
  ok(berth(root, ['delete', '-f', id]), 'delete -f');
  assert.not.ok(existsSync(cgroup), 'its cgroup is gone');
  assertNothingLeft(root, id, dir);
});

if (isRoot) test.run();
else console.log('pause and resume: skipped (needs root)');
