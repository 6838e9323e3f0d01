// Hooks: each kind at its point of the lifecycle, in its namespaces, with the state on stdin and
// exactly its env; timeouts, failure rules, bounded output, and one hook at a time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime, type RuntimeEvent } from '../actors/runtime.js';
import type { Config, Hook, Hooks } from '../native/spec/config.js';
import { assertNothingLeft, berth, isRoot, makeBundle, ok, uniqueId, workspace } from './helpers/fixtures.js';
import { waitUntil } from './helpers/wait.js';

const test = suite('hooks');
const { dir, root, rootfs } = workspace(test);

/** A hook that appends one line: its tag, its stdin, its uts namespace and hostname, its env. */
const recorder = (log: string, tag: string, extra: Partial<Hook> = {}): Hook => ({
  path: '/bin/sh',
  // its environment, less what shells add on their own (PWD, SHLVL, a default PATH)
  args: ['sh', '-c', `echo "${tag} $(cat) $(readlink /proc/self/ns/uts) $(hostname) $(cat /proc/self/environ | tr '\\000' '\\n' | grep -v -e ^PWD= -e ^SHLVL= -e ^PATH= | sort | tr '\\n' ,)" >> ${log}`],
  env: ['HOOK=1'],
  ...extra,
});

function bundle(id: string, args: string[], hooks: Hooks, patch?: (c: Config) => void) {
  return makeBundle(join(dir, id), rootfs, args, (c) => {
    c.hostname = 'inside';
    c.hooks = hooks;
    patch?.(c);
  });
}

/** A bundle whose hooks of every kind append to one log (startContainer's through a folder bound in); POSTSTART tags its poststart hooks. */
function recordedBundle(id: string, args: string[], poststart: string[], poststop: boolean) {
  const logs = join(dir, `${id}-logs`);
  mkdirSync(logs);
  const log = join(logs, 'log');
  const hooks: Hooks = {
    prestart: [recorder(log, 'prestart')],
    createRuntime: [recorder(log, 'createRuntime')],
    createContainer: [recorder(log, 'createContainer')],
    // startContainer's path resolves in the container: its busybox sh, writing to a folder bound in
    startContainer: [recorder('/logs/log', 'startContainer')],
    poststart: poststart.map((tag) => recorder(log, tag)),
    ...(poststop ? { poststop: [recorder(log, 'poststop')] } : {}),
  };
  return { log, bundle: bundle(id, args, hooks, (c) => c.mounts.push({ destination: '/logs', type: 'bind', source: logs, options: ['rbind', 'rw'] })) };
}

test('every kind at its point, in its namespaces, with the state on stdin and exactly its env', () => {
  const id = uniqueId('hooks');
  const { log: hostLog, bundle: b } = recordedBundle(id, ['true'], ['poststart1', 'poststart2'], true);
  ok(berth(root, ['create', '--bundle', b, id]), 'create');
  const pid = JSON.parse(ok(berth(root, ['state', id]), 'state')).pid;
  ok(berth(root, ['start', id]), 'start');
  assert.ok(waitUntil(() => JSON.parse(berth(root, ['state', id]).stdout).status === 'stopped'));
  ok(berth(root, ['delete', id]), 'delete');

  const lines = readFileSync(hostLog, 'utf8').trim().split('\n');
  assert.equal(
    lines.map((l) => l.split(' ')[0]),
    ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart1', 'poststart2', 'poststop'],
  );
  const host = readlinkSync('/proc/self/ns/uts');
  for (const line of lines) {
    const [tag, json, uts, hostname, env] = line.split(' ');
    const state = JSON.parse(json!);
    assert.is(state.id, id);
    assert.is(state.bundle, b);
    const inside = tag === 'createContainer' || tag === 'startContainer';
    assert.is(uts === host, !inside, `${tag} runs in ${inside ? 'the container' : 'berth'}'s namespaces`);
    assert.is(hostname === 'inside', inside, `${tag}: the hostname of ${inside ? 'the container' : 'the host'}`);
    assert.is(state.pid, inside ? 1 : pid, `${tag}: the pid as the hook sees it`);
    assert.is(env, 'HOOK=1,', `${tag}: exactly the env it was given`);
  }
  assert.equal(
    lines.map((l) => JSON.parse(l.split(' ')[1]!).status),
    ['created', 'created', 'created', 'created', 'running', 'running', 'stopped'],
  );
});

test('start --restart: the new process gets createContainer, startContainer and poststart; the kept namespaces\' hooks do not run again', () => {
  const id = uniqueId('hooks-restart');
  const { log: hostLog, bundle: b } = recordedBundle(id, ['sleep', '30'], ['poststart'], false);
  ok(berth(root, ['run', '-d', '--bundle', b, id]), 'run -d');
  ok(berth(root, ['stop', '-t', '0', id]), 'stop');
  writeFileSync(hostLog, '');
  ok(berth(root, ['start', '--restart', id]), 'start --restart');
  const lines = readFileSync(hostLog, 'utf8').trim().split('\n');
  assert.equal(lines.map((l) => l.split(' ')[0]), ['createContainer', 'startContainer', 'poststart']);
  const pid = JSON.parse(ok(berth(root, ['state', id]), 'state')).pid;
  assert.equal(lines.map((l) => JSON.parse(l.split(' ')[1]!).pid), [1, 1, pid], 'the new process, as each hook sees it');
  ok(berth(root, ['delete', '--force', id]), 'delete');
  assertNothingLeft(root, id, dir);
});

test('a failing or hung hook before the program fails the operation, and under 1.3 a poststart one; poststop, or poststart before 1.3, a warning', () => {
  const failing = (code: number, stderr = 'boom'): Hook => ({ path: '/bin/sh', args: ['sh', '-c', `echo ${stderr} >&2; exit ${code}`] });
  let id = uniqueId('hook-fail');
  let r = berth(root, ['create', '--bundle', bundle(id, ['true'], { createRuntime: [failing(3)] }), id]);
  assert.is(r.status, 1);
  assert.is(r.stderr, 'hooks.createRuntime[0] (/bin/sh): exit status 3: boom\n');
  assertNothingLeft(root, id, dir);

  id = uniqueId('hook-slow');
  const started = Date.now();
  r = berth(root, ['create', '--bundle', bundle(id, ['true'], { prestart: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] }), id]);
  assert.is(r.stderr, 'hooks.prestart[0] (/bin/sleep): timed out after 1 s\n');
  assert.ok(Date.now() - started < 10_000);
  assertNothingLeft(root, id, dir);

  id = uniqueId('hook-start');
  ok(berth(root, ['create', '--bundle', bundle(id, ['sleep', '30'], { startContainer: [failing(1)] }), id]), 'create');
  r = berth(root, ['start', id]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /^hooks\.startContainer\[0\] \(\/bin\/sh\): exit status 1/);
  assert.ok(waitUntil(() => JSON.parse(berth(root, ['state', id]).stdout).status === 'stopped'), 'a failed startContainer hook stops the container');
  ok(berth(root, ['delete', id]), 'delete');

  // runtime-spec 1.3: a failing poststart hook is an error, and stops the container.
  id = uniqueId('hook-post13');
  const log13 = join(dir, `${id}.log`);
  ok(berth(root, ['create', '--bundle', bundle(id, ['sleep', '30'], { poststart: [failing(2), recorder(log13, 'after')] }), id]), 'create');
  r = berth(root, ['start', id]);
  assert.is(r.status, 1);
  assert.is(r.stderr, 'hooks.poststart[0] (/bin/sh): exit status 2: boom\n');
  assert.ok(waitUntil(() => JSON.parse(berth(root, ['state', id]).stdout).status === 'stopped'), 'a failed poststart hook stops the container');
  assert.not.ok(existsSync(log13), 'the poststart hooks after it do not run');
  ok(berth(root, ['delete', id]), 'delete');
  assertNothingLeft(root, id, dir);

  // A bundle of an earlier 1.x gets its rule: a warning, the rest of the hooks, the container runs on.
  id = uniqueId('hook-post12');
  const log = join(dir, `${id}.log`);
  const b12 = bundle(id, ['true'], { poststart: [failing(2), recorder(log, 'after')], poststop: [failing(4)] }, (c) => (c.ociVersion = '1.2.0'));
  ok(berth(root, ['run', '--bundle', b12, id]), 'run');
  assert.match(readFileSync(log, 'utf8'), /^after /, 'the poststart hooks after a failing one still run');
  assertNothingLeft(root, id, dir);
});

test('a create whose undo fails too says both in one line; delete --force removes what is left', () => {
  const id = uniqueId('undo-fails');
  const kept = join(root, id, 'config.json');
  // The hook makes the state folder's config.json immutable, then fails: the undo cannot remove it.
  const b = bundle(id, ['true'], { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `chattr +i ${kept}; exit 1`] }] });
  const r = berth(root, ['create', '--bundle', b, id]);
  try {
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^hooks\\.createRuntime\\[0\\] \\(/bin/sh\\): exit status 1; undoing the create failed too: cannot remove ${kept}: EPERM \\(operation not permitted\\)\\n$`));
    assert.is(r.stderr.split('\n').length, 2, 'one line');
  } finally {
    spawnSync('chattr', ['-i', kept]);
  }
  ok(berth(root, ['delete', '--force', id]), 'delete -f');
  assertNothingLeft(root, id, dir);
});

test('hook output is captured up to a bound and never blocks the hook', () => {
  const id = uniqueId('hook-loud');
  const loud: Hook = { path: '/bin/sh', args: ['sh', '-c', 'head -c 8000000 /dev/zero; head -c 8000000 /dev/zero >&2; exit 0'], timeout: 20 };
  ok(berth(root, ['run', '--bundle', bundle(id, ['true'], { createRuntime: [loud], poststop: [loud] }), id]), 'run');
});

test('bad hooks are refused by path before anything is made', () => {
  const notExecutable = join(dir, 'not-executable');
  writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
  const cases: [Hooks, RegExp][] = [
    [{ prestart: [{ path: 'bin/sh' }] }, /^hooks\.prestart\[0\]\.path: must be an absolute path, not "bin\/sh"$/],
    [{ createRuntime: [{ path: '/no/such/hook' }] }, /^hooks\.createRuntime\[0\]\.path: "\/no\/such\/hook" does not exist$/],
    [{ poststop: [{ path: notExecutable }] }, /^hooks\.poststop\[0\]\.path: ".*not-executable" is not executable$/],
    [{ poststart: [{ path: '/bin/true', timeout: 0 }] }, /^hooks\.poststart\[0\]\.timeout: 0 is less than 1$/],
    [{ onTuesday: [] } as Hooks, /^hooks\.onTuesday: unknown hook kind/],
  ];
  for (const [hooks, message] of cases) {
    const id = uniqueId('hook-bad');
    const r = berth(root, ['create', '--bundle', bundle(id, ['true'], hooks), id]);
    assert.is(r.status, 1, `${JSON.stringify(hooks)}: ${r.stderr}`);
    assert.match(r.stderr.trim(), message);
    assertNothingLeft(root, id, dir);
  }
});

test('16 parallel creates: their hooks never overlap, and each is an event', async () => {
  const log = join(dir, 'serial.log');
  const stamp: Hook = { path: '/bin/sh', args: ['sh', '-c', `echo "start $(date +%s%N)" >> ${log}; sleep 0.05; echo "end $(date +%s%N)" >> ${log}`] };
  const rt = new Runtime({ root });
  const events: RuntimeEvent[] = [];
  rt.on((e) => e.type === 'hook' && events.push(e));
  try {
    const ids = Array.from({ length: 16 }, () => uniqueId('serial'));
    await Promise.all(ids.map((id) => rt.create({ id, bundle: bundle(id, ['true'], { createRuntime: [stamp] }), stdio: 'ignore' })));
    await Promise.all(ids.map((id) => rt.delete(id, { force: true })));
  } finally {
    await rt.close();
  }
  const marks = readFileSync(log, 'utf8').trim().split('\n');
  assert.is(marks.length, 32);
  marks.forEach((m, i) => assert.ok(m.startsWith(i % 2 === 0 ? 'start' : 'end'), `no two hooks overlap: ${marks.slice(Math.max(0, i - 2), i + 2)}`));
  assert.is(events.length, 16);
  for (const e of events) {
    if (e.type !== 'hook') continue;
    assert.is(e.kind, 'createRuntime');
    assert.is(e.exitCode, 0);
    assert.ok(e.durationMs >= 50);
  }
});

if (isRoot) test.run();
else console.log('hooks: skipped (needs root)');
