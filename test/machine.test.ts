// The lifecycle machine as a pure function: events in, snapshots out; no actor, no root, no kernel.
// An operation's event enters a busy state that names the operation (`runs`); its outcome is
// given back as DONE or FAILED, as actors/containerActor.ts does. Last, that path itself, on state
// folders written by hand (no root needed: nothing is made in the kernel).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { performOperation, type OperationRequest } from '../actors/containerActor.js';
import { procStat } from '../native/procfs.js';
import { initial, next, persisted, refusal, rehydrate, statusOf, type ContainerEvent, type ContainerSnapshot, type PersistedMachine } from '../machines/container.js';

/** The operation a busy snapshot runs (its state's `runs`), or undefined when none is under way. */
const runs = (snap: ContainerSnapshot) => Object.values(snap.getMeta() as Record<string, { runs?: string }>).find((m) => m.runs)?.runs;

interface Options {
  /** Operations that fail. */
  fail?: string[];
  /** What a checkpoint reports: its processes still run. */
  stillRunning?: boolean;
  birth?: 'CREATE' | 'RESTORE';
}

/** One operation: its event must be taken, and lead to a busy state; then its outcome. */
function operate(snap: ContainerSnapshot, e: ContainerEvent, calls: string[], { fail = [], stillRunning = false }: Options): ContainerSnapshot {
  assert.ok(e.type === 'CREATE' || e.type === 'RESTORE' || snap.can(e), `${e.type} allowed in ${statusOf(snap)}`);
  const busy = next(snap, e);
  assert.ok(busy.hasTag('busy'), `${e.type} leads to a busy state`);
  const op = runs(busy)!;
  calls.push(op);
  return next(busy, fail.includes(op) ? { type: 'FAILED', message: `${op} failed` } : { type: 'DONE', stillRunning: op === 'checkpoint' ? stillRunning : undefined });
}

function run(events: ContainerEvent[], opts: Options = {}) {
  const calls: string[] = [];
  let snap = operate(initial('c'), { type: opts.birth ?? 'CREATE' }, calls, opts);
  for (const e of events) snap = e.type === 'EXITED' ? next(snap, e) : operate(snap, e, calls, opts);
  return { calls, snap };
}

test('creating → created → running → stopped → deleted', () => {
  const { calls, snap } = run([{ type: 'START' }, { type: 'EXITED' }, { type: 'DELETE', force: false }]);
  assert.equal(calls, ['create', 'start', 'delete']);
  assert.is(statusOf(snap), 'deleted');
});

test('running ⇄ paused, and kill keeps the state', () => {
  const { calls, snap } = run([{ type: 'START' }, { type: 'PAUSE' }, { type: 'KILL', all: false }, { type: 'RESUME' }]);
  assert.equal(calls, ['create', 'start', 'pause', 'kill', 'resume']);
  assert.is(statusOf(snap), 'running');
  assert.not.ok(runs(snap), 'settled: nothing under way');
});

test('a transition is pure: the snapshot it starts from is unchanged', () => {
  const { snap } = run([{ type: 'START' }]);
  const busy = next(snap, { type: 'PAUSE' });
  assert.equal(snap.value, { running: 'idle' });
  assert.equal(busy.value, { running: 'pausing' });
  assert.equal(next(busy, { type: 'DONE' }).value, { paused: 'idle' });
  assert.equal(busy.value, { running: 'pausing' });
});

test('illegal events are refused and change nothing', () => {
  const { snap } = run([{ type: 'START' }]);
  for (const e of [{ type: 'START' }, { type: 'RESUME' }, { type: 'DELETE', force: false }] as ContainerEvent[]) {
    assert.not.ok(snap.can(e), e.type);
    assert.equal(next(snap, e).value, snap.value, `${e.type} leaves the state`);
  }
  assert.ok(snap.can({ type: 'DELETE', force: true }), 'delete --force is allowed while running');
});

test('an outcome outside a busy state changes nothing', () => {
  const { snap } = run([{ type: 'START' }]);
  assert.equal(next(snap, { type: 'DONE' }).value, snap.value);
  assert.equal(next(snap, { type: 'FAILED', message: 'x' }).context.error, null);
});

test('exec adds a process in created and running; in paused only when told to ignore the pause', () => {
  const { calls, snap } = run([{ type: 'EXEC', ignorePaused: false }, { type: 'START' }, { type: 'EXEC', ignorePaused: false }, { type: 'PAUSE' }]);
  assert.equal(calls, ['create', 'exec', 'start', 'exec', 'pause']);
  assert.not.ok(snap.can({ type: 'EXEC', ignorePaused: false }));
  assert.ok(snap.can({ type: 'EXEC', ignorePaused: true }));
  assert.is(refusal('paused', { type: 'EXEC', ignorePaused: false }, 'x'), 'cannot exec in a paused container (use --ignore-paused to override)');
  assert.is(refusal('stopped', { type: 'EXEC', ignorePaused: false }, 'x'), 'cannot exec in a stopped container');
});

test('stop from running; restart from stopped only', () => {
  const { calls, snap } = run([{ type: 'START' }, { type: 'STOP' }, { type: 'RESTART' }]);
  assert.equal(calls, ['create', 'start', 'stop', 'restart']);
  assert.is(statusOf(snap), 'running');
  assert.not.ok(snap.can({ type: 'RESTART' }));
  assert.is(refusal('running', { type: 'RESTART' }, 'x'), 'cannot restart a container that is not stopped: running');
  assert.is(refusal('created', { type: 'STOP' }, 'x'), 'container not running');
});

test('update changes limits in created, running and paused, and keeps the state', () => {
  const { calls, snap } = run([{ type: 'UPDATE' }, { type: 'START' }, { type: 'UPDATE' }, { type: 'PAUSE' }, { type: 'UPDATE' }]);
  assert.equal(calls, ['create', 'update', 'start', 'update', 'pause', 'update']);
  assert.is(statusOf(snap), 'paused');
  assert.is(refusal('stopped', { type: 'UPDATE' }, 'x'), 'container not running');
});

test('a stopped container can only be deleted, restarted, or signalled with --all (its processes beyond its own, when it had no pid namespace)', () => {
  const { snap } = run([{ type: 'EXITED' }]);
  assert.is(statusOf(snap), 'stopped');
  for (const e of [{ type: 'START' }, { type: 'KILL', all: false }, { type: 'PAUSE' }, { type: 'STOP' }, { type: 'UPDATE' }] as ContainerEvent[]) assert.not.ok(snap.can(e), e.type);
  assert.ok(snap.can({ type: 'DELETE', force: false }));
  assert.ok(snap.can({ type: 'RESTART' }));
  assert.ok(snap.can({ type: 'KILL', all: true }));
});

test('a failed operation records its error and returns to where it was; the next one clears it', () => {
  const { snap } = run([{ type: 'START' }], { fail: ['start'] });
  assert.is(statusOf(snap), 'created');
  assert.is(snap.context.error, 'start failed');
  assert.is(next(snap, { type: 'START' }).context.error, null);
});

test('a failed delete reads as stopped', () => {
  const { snap } = run([{ type: 'START' }, { type: 'DELETE', force: true }], { fail: ['delete'] });
  assert.is(statusOf(snap), 'stopped');
  assert.is(snap.context.error, 'delete failed');
});

test('a failed create ends in failed', () => {
  const { snap } = run([], { fail: ['create'] });
  assert.is(statusOf(snap), 'failed');
  assert.is(snap.status, 'done');
  assert.is(snap.context.error, 'create failed');
});

test('a persisted snapshot rehydrates to the same state', () => {
  const { snap } = run([{ type: 'START' }]);
  const again = rehydrate(JSON.parse(JSON.stringify(persisted(snap))) as PersistedMachine);
  assert.is(statusOf(again), 'running');
  assert.ok(again.can({ type: 'PAUSE' }));
});

test('state.json keeps XState\'s persisted snapshot, as berth wrote it before', () => {
  const { snap } = run([{ type: 'START' }, { type: 'PAUSE' }]);
  assert.equal(JSON.parse(JSON.stringify(persisted(snap))), { status: 'active', value: { paused: 'idle' }, historyValue: {}, context: { id: 'c', error: null }, children: {} });
  assert.is(statusOf(rehydrate({ value: 'stopped', context: { id: 'c', error: null } })), 'stopped', 'a bare status: its idle state');
});

test('restore: a new container that is running at once; a failed one ends in failed', () => {
  const { calls, snap } = run([], { birth: 'RESTORE' });
  assert.equal(calls, ['restore']);
  assert.is(statusOf(snap), 'running');
  const failed = run([], { fail: ['restore'], birth: 'RESTORE' });
  assert.is(statusOf(failed.snap), 'failed');
  assert.is(failed.snap.context.error, 'restore failed');
});

test('checkpoint: stopped after a dump, still running when the dump says so, paused stays paused', () => {
  const dumped = run([{ type: 'START' }, { type: 'CHECKPOINT' }]);
  assert.is(statusOf(dumped.snap), 'stopped');
  assert.ok(dumped.snap.can({ type: 'DELETE', force: false }), 'a checkpointed container can be deleted');
  const kept = run([{ type: 'START' }, { type: 'CHECKPOINT' }], { stillRunning: true });
  assert.is(statusOf(kept.snap), 'running');
  assert.ok(kept.snap.can({ type: 'CHECKPOINT' }), 'and can be checkpointed again');
  const paused = run([{ type: 'START' }, { type: 'PAUSE' }, { type: 'CHECKPOINT' }], { stillRunning: true });
  assert.is(statusOf(paused.snap), 'paused');
  const failed = run([{ type: 'START' }, { type: 'CHECKPOINT' }], { fail: ['checkpoint'] });
  assert.is(statusOf(failed.snap), 'running', 'a failed dump leaves the container as it was');
  assert.is(failed.snap.context.error, 'checkpoint failed');
});

test('checkpoint is refused before start and after stop', () => {
  const { snap } = run([]);
  assert.not.ok(snap.can({ type: 'CHECKPOINT' }));
  assert.is(refusal('created', { type: 'CHECKPOINT' }, 'x'), 'Container cannot be checkpointed in created state');
  const stopped = run([{ type: 'START' }, { type: 'EXITED' }]);
  assert.not.ok(stopped.snap.can({ type: 'CHECKPOINT' }));
});

test('refusals read as runc words them', () => {
  assert.is(refusal('running', { type: 'START' }, 'x'), 'cannot start an already running container');
  assert.is(refusal('stopped', { type: 'START' }, 'x'), 'cannot start a container that has stopped');
  assert.is(refusal('running', { type: 'DELETE', force: false }, 'x'), 'cannot delete container x that is not stopped: running');
  assert.is(refusal('stopped', { type: 'KILL', all: false }, 'x'), 'container not running');
  assert.is(refusal('running', { type: 'RESUME' }, 'x'), 'container not paused');
  assert.is(refusal('created', { type: 'PAUSE' }, 'x'), 'container not running');
});

/** A state folder for ID: state.json as given (status running by default), and an empty config.json. */
function stateFolder(root: string, id: string, patch: { status?: string; pid?: number; pidStartTime?: number; machine?: unknown }) {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  const { status = 'running', pid = 0, pidStartTime = 0, machine = null } = patch;
  const state = { ociVersion: '1.2.0', id, status, pid, bundle: '/', rootfs: '/', created: '', owner: '', berth: { pidStartTime, cgroup: null, hostMounts: false, noPivot: false, machine } };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
  writeFileSync(join(dir, 'config.json'), '{}');
  return { dir, read: () => readFileSync(join(dir, 'state.json'), 'utf8') };
}

const services = { hooks: { run: async () => {} } };
/** An operation as the coordinator sends it (the host adds root and log). */
type Request = OperationRequest extends infer R ? (R extends unknown ? Omit<R, 'root' | 'log'> : never) : never;
const perform = (root: string, req: Request) => performOperation({ ...req, root, log: {} } as OperationRequest, services);

test('the operation path: a refusal changes nothing; a failure is thrown and where it leads is recorded', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-machine-'));
  try {
    // A "container" whose process is this one (alive), recorded by an older berth, with no cgroup.
    const old = { status: 'active', value: { running: 'idle' }, historyValue: {}, context: { id: 'c', error: null }, children: {} };
    const { read } = stateFolder(root, 'c', { pid: process.pid, pidStartTime: procStat(process.pid)!.startTime, machine: old });
    const before = read();
    assert.equal(await perform(root, { op: 'resume', id: 'c' }), { ok: false, error: { message: 'container not paused', kind: 'state' } });
    assert.is(read(), before, 'a refused event leaves state.json as it was');
    assert.equal(await perform(root, { op: 'pause', id: 'c' }), { ok: false, error: { message: 'the container has no cgroup: it cannot be paused', kind: 'failed' } });
    const after = JSON.parse(read());
    assert.is(after.status, 'running');
    assert.equal(after.berth.machine.value, { running: 'idle' }, 'a failed pause goes back to running');
    assert.is(after.berth.machine.context.error, 'the container has no cgroup: it cannot be paused');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the operation path: a state.json without a machine is read from its status, and its dead process seen', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-machine-'));
  try {
    // A create that died before the container process was recorded: stopped, so delete needs no --force.
    const { dir } = stateFolder(root, 'd', { status: 'creating' });
    assert.equal(await perform(root, { op: 'start', id: 'd' }), { ok: false, error: { message: 'cannot start a container that has stopped', kind: 'state' } });
    assert.equal(await perform(root, { op: 'delete', id: 'd', force: false }), { ok: true, result: { id: 'd', status: 'deleted', pid: 0 } });
    assert.not.ok(existsSync(dir), 'deleted');
    // Recorded running, its process gone: EXITED first, so a pause is refused as runc refuses it.
    stateFolder(root, 'e', { status: 'running', pid: 0 });
    assert.equal(await perform(root, { op: 'pause', id: 'e' }), { ok: false, error: { message: 'container not running', kind: 'state' } });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
