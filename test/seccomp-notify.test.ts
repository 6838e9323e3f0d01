// SCMP_ACT_NOTIFY in real containers: a seccomp agent of the tests' own (helpers/seccomp-agent.c,
// built here with the C compiler) gets each filter's listener with the container process state at
// listenerPath, and answers the notifications — the container's program sees its answer.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../actors/runtime.js';
import { architectures, nativeArchitecture } from '../native/compile/seccomp/architectures.js';
import type { Seccomp } from '../native/spec/config.js';
import { assertNothingLeft, berth, isRoot, makeBundle, ok, projectRoot, rejects, uniqueId, workspace, type ConfigPatch } from './helpers/fixtures.js';
import { waitUntil } from './helpers/wait.js';

const test = suite('seccomp notify');
const agents: ChildProcess[] = [];
let rt: Runtime | undefined;
const { dir, root, rootfs } = workspace(test, async () => {
  for (const agent of agents) agent.kill('SIGKILL');
  await rt?.close();
});

const EXDEV = 18;
const EXDEV_TEXT = 'Invalid cross-device link';
const syscalls = architectures[nativeArchitecture(process.arch)!]!.syscalls;
const mkdirNumbers = [syscalls.mkdir, syscalls.mkdirat].filter((n) => n !== undefined).map(String);

/** The agent, built once into the test's folder; null (and the suite skipped) without a C compiler. */
function buildAgent(): string | null {
  const path = join(dir, 'seccomp-agent');
  const r = spawnSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', path, join(projectRoot, 'test/helpers/seccomp-agent.c')], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    console.log(`seccomp notify: skipped (the agent does not build: ${r.error?.message ?? r.stderr.trim().split('\n')[0]})`);
    return null;
  }
  return path;
}

interface Agent {
  socket: string;
  /** The K-th container process state it got (from 1), once whole. */
  state(k: number): Record<string, unknown>;
  /** What came with it: the number of fds and what the first is. */
  fds(k: number): string;
  /** The syscall numbers it was notified of. */
  notified(): string[];
}

let agentBinary: string | null = null;
let agentCount = 0;

/** An agent listening at a socket of its own that answers every notification with ANSWER (errno:N, or fake). */
async function startAgent(answer: string): Promise<Agent> {
  const name = `agent-${++agentCount}`;
  const out = join(dir, name);
  mkdirSync(out);
  const socket = join(dir, `${name}.sock`);
  const child = spawn(agentBinary!, [socket, out, answer], { stdio: ['ignore', 'pipe', 'inherit'] });
  agents.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the agent exited (${code})`)));
  });
  const file = (k: number, ext: string) => {
    const path = join(out, `state-${k}.${ext}`);
    assert.ok(waitUntil(() => existsSync(path)), `the agent got state ${k}`);
    return readFileSync(path, 'utf8');
  };
  return {
    socket,
    state: (k) => JSON.parse(file(k, 'json')),
    fds: (k) => file(k, 'fds').trim(),
    notified: () => (existsSync(join(out, 'notified')) ? readFileSync(join(out, 'notified'), 'utf8').trim().split('\n').map((l) => l.split(' ')[0]!) : []),
  };
}

const notifyMkdir = (listenerPath: string, over: Partial<Seccomp> = {}): Seccomp => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  architectures: [],
  flags: [],
  listenerPath,
  syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY', args: [] }],
  ...over,
});

/** A bundle running ARGS with SECCOMP, a writable root, and the folder OUT bound at /out. */
function bundle(id: string, args: string[], seccomp: Seccomp, patch?: ConfigPatch): { bundle: string; out: string } {
  const out = join(dir, `${id}-out`);
  mkdirSync(out);
  const path = makeBundle(join(dir, id), rootfs, args, (c) => {
    c.root.readonly = false;
    c.linux.seccomp = seccomp;
    c.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
    patch?.(c);
  });
  return { bundle: path, out };
}

test('create: the agent has the listener and the state before start; the program gets its errno', async () => {
  const agent = await startAgent(`errno:${EXDEV}`);
  const id = uniqueId('notify');
  const made = bundle(id, ['sh', '-c', 'mkdir /tmp/x 2>/out/err; echo $? >/out/status'], notifyMkdir(agent.socket, { listenerMetadata: 'MKNOD=/dev/null;x' }), (c) => (c.annotations = { 'org.test': 'yes' }));
  ok(berth(root, ['create', '--bundle', made.bundle, id]), 'create');
  const pid = JSON.parse(ok(berth(root, ['state', id]), 'state')).pid;
  assert.equal(agent.state(1), {
    ociVersion: '1.3.0',
    fds: ['seccompFd'],
    pid,
    metadata: 'MKNOD=/dev/null;x',
    state: { ociVersion: '1.3.0', id, status: 'creating', pid, bundle: made.bundle, annotations: { 'org.test': 'yes' } },
  });
  assert.is(agent.fds(1), '1 anon_inode:seccomp notify', 'one fd came, the listener');
  assert.equal(agent.notified(), [], 'nothing notified before start');
  ok(berth(root, ['start', id]), 'start');
  assert.ok(waitUntil(() => existsSync(join(made.out, 'status'))), 'the program ran');
  assert.is(readFileSync(join(made.out, 'status'), 'utf8'), '1\n');
  assert.is(readFileSync(join(made.out, 'err'), 'utf8'), `mkdir: can't create directory '/tmp/x': ${EXDEV_TEXT}\n`);
  assert.ok(agent.notified().length > 0 && agent.notified().every((nr) => mkdirNumbers.includes(nr)), `notified of mkdir: ${agent.notified()}`);
  ok(berth(root, ['delete', '--force', id]), 'delete');
});

test('a fake success: the syscall returns 0 and nothing is done — with no_new_privs or without, with the listener flags', async () => {
  const agent = await startAgent('fake');
  for (const noNewPrivileges of [true, false]) {
    const id = uniqueId('notify-fake');
    // WAIT_KILLABLE_RECV goes to the kernel with a listener; TSYNC with one needs TSYNC_ESRCH too.
    const flags = noNewPrivileges ? [] : ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV', 'SECCOMP_FILTER_FLAG_TSYNC'];
    const made = bundle(id, ['sh', '-c', 'mkdir /tmp/y && echo made; test -d /tmp/y || echo absent; grep ^Seccomp: /proc/self/status'], notifyMkdir(agent.socket, { flags }), (c) => (c.process.noNewPrivileges = noNewPrivileges));
    const r = berth(root, ['run', '--bundle', made.bundle, id]);
    assert.is(r.stderr, '', `no_new_privs ${noNewPrivileges}`);
    assert.is(r.stdout, 'made\nabsent\nSeccomp:\t2\n');
    assert.is(r.status, 0);
    assertNothingLeft(root, id, dir);
  }
});

test("exec: the exec'd process's own listener, with the running container's state and the exec'd pid", async () => {
  const agent = await startAgent(`errno:${EXDEV}`);
  const id = uniqueId('notify-exec');
  const made = bundle(id, ['sleep', '30'], notifyMkdir(agent.socket, { listenerMetadata: 'm' }));
  ok(berth(root, ['run', '-d', '--bundle', made.bundle, id]), 'run -d');
  const pid = JSON.parse(ok(berth(root, ['state', id]), 'state')).pid;
  assert.is((agent.state(1).state as { status: string }).status, 'creating');
  const pidFile = join(dir, `${id}.pid`);
  const r = berth(root, ['exec', '--pid-file', pidFile, id, 'sh', '-c', 'mkdir /tmp/z 2>&1; echo $?']);
  assert.is(r.stdout, `mkdir: can't create directory '/tmp/z': ${EXDEV_TEXT}\n1\n`, r.stderr);
  const execPid = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(execPid > 0 && execPid !== pid);
  assert.equal(agent.state(2), {
    ociVersion: '1.3.0',
    fds: ['seccompFd'],
    pid: execPid,
    metadata: 'm',
    state: { ociVersion: '1.3.0', id, status: 'running', pid, bundle: made.bundle, annotations: {} },
  });
  assert.is(agent.fds(2), '1 anon_inode:seccomp notify');
  // A restart is a new container process through the barrier: its listener comes as a create's.
  ok(berth(root, ['stop', '-t', '1', id]), 'stop');
  ok(berth(root, ['start', '--restart', id]), 'start --restart');
  const restarted = JSON.parse(ok(berth(root, ['state', id]), 'state')).pid;
  assert.equal(agent.state(3), { ociVersion: '1.3.0', fds: ['seccompFd'], pid: restarted, metadata: 'm', state: { ociVersion: '1.3.0', id, status: 'creating', pid: restarted, bundle: made.bundle, annotations: {} } });
  // The agent gone: an exec fails in one line and leaves no process; the container runs on.
  rmSync(agent.socket);
  const failed = berth(root, ['exec', id, 'true']);
  assert.is(failed.status, 1);
  assert.match(failed.stderr, /^the seccomp agent \(linux\.seccomp\.listenerPath\) did not get the listener: connect \S+: ENOENT \(no such file or directory\)\n$/);
  assert.equal(JSON.parse(ok(berth(root, ['ps', '-f', 'json', id]), 'ps')), [restarted]);
  ok(berth(root, ['delete', '--force', id]), 'delete');
  assertNothingLeft(root, id, dir);
});

test('a listenerPath no agent listens at fails the create in one line and leaves nothing: state, cgroup, process', () => {
  const notSocket = join(dir, 'not-a-socket');
  writeFileSync(notSocket, '');
  const cases: [string, string, RegExp][] = [
    [join(dir, 'nobody.sock'), 'create', /connect \S+nobody\.sock: ENOENT \(no such file or directory\)/],
    [notSocket, 'create', /connect \S+not-a-socket: ECONNREFUSED \(connection refused\)/],
    [join(dir, 'nobody.sock'), 'run', /ENOENT/],
  ];
  for (const [listenerPath, verb, why] of cases)
    for (const flags of [[], ['--no-server']]) {
      const id = uniqueId('notify-none');
      const made = bundle(id, ['true'], notifyMkdir(listenerPath));
      const r = berth(root, [...flags, verb, '--bundle', made.bundle, id]);
      assert.is(r.status, 1, `${verb} ${flags}`);
      assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^the seccomp agent \(linux\.seccomp\.listenerPath\) did not get the listener: /);
      assert.match(r.stderr, why);
      assertNothingLeft(root, id, dir);
    }
});

test('a profile berth cannot honour is refused by path before anything is made', () => {
  const id = uniqueId('notify-bad');
  const made = bundle(id, ['true'], notifyMkdir(join(dir, 'x.sock'), { syscalls: [{ names: ['mkdir', 'sendmsg'], action: 'SCMP_ACT_NOTIFY', args: [] }] }));
  const r = berth(root, ['create', '--bundle', made.bundle, id]);
  assert.is(r.status, 1);
  assert.is(r.stderr, 'linux.seccomp.syscalls[0].names[1]: sendmsg cannot be SCMP_ACT_NOTIFY: berth-init hands the listener over with it, before the agent has it\n');
  assertNothingLeft(root, id, dir);
});

test('the API on its worker pool: the listener reaches the agent; without an agent the create fails and leaves nothing', async () => {
  const agent = await startAgent(`errno:${EXDEV}`);
  rt = new Runtime({ root });
  const id = uniqueId('notify-api');
  const made = bundle(id, ['sh', '-c', `mkdir /tmp/w 2>&1 | grep -q "${EXDEV_TEXT}"`], notifyMkdir(agent.socket));
  const { pid } = await rt.create({ id, bundle: made.bundle, stdio: 'ignore' });
  assert.is(agent.state(1).pid, pid);
  await rt.start(id);
  assert.is((await rt.wait(id)).exitCode, 0, 'the program saw the errno the agent gave');
  await rt.delete(id);
  const none = uniqueId('notify-api-none');
  await rejects(rt.create({ id: none, bundle: bundle(none, ['true'], notifyMkdir(join(dir, 'nobody.sock'))).bundle, stdio: 'ignore' }), 'failed', /^the seccomp agent \(linux\.seccomp\.listenerPath\) did not get the listener: connect /);
  assertNothingLeft(root, none, dir);
});

if (!isRoot) console.log('seccomp notify: skipped (needs root)');
else if ((agentBinary = buildAgent())) test.run();
else rmSync(dir, { recursive: true, force: true }); // the suite's own cleanup runs only with it
