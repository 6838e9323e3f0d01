// The lifecycle machine, with effects that only record: no root, no kernel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, waitFor } from 'xstate';
import { containerMachine, isSettled, refusal, statusOf, type ContainerEvent } from '../machines/container.js';

function machine(calls: string[], fail: string[] = []) {
  const effect = (name: string) =>
    fromPromise<void, unknown>(async () => {
      calls.push(name);
      if (fail.includes(name)) throw new Error(`${name} failed`);
    });
  // A checkpoint's effect says whether the processes still run: here, when asked to leave them running.
  const checkpoint = fromPromise<boolean, unknown>(async ({ input }) => {
    calls.push('checkpoint');
    if (fail.includes('checkpoint')) throw new Error('checkpoint failed');
    const e = input as ContainerEvent;
    return e.type === 'CHECKPOINT' && e.leaveRunning;
  });
  return containerMachine.provide({
    actors: {
      create: effect('create'),
      restore: effect('restore'),
      start: effect('start'),
      kill: effect('kill'),
      exec: effect('exec'),
      pause: effect('pause'),
      resume: effect('resume'),
      stop: effect('stop'),
      restart: effect('restart'),
      update: effect('update'),
      delete: effect('delete'),
      checkpoint,
    },
  });
}

async function run(events: ContainerEvent[], fail: string[] = [], birth: 'CREATE' | 'RESTORE' = 'CREATE') {
  const calls: string[] = [];
  const actor = createActor(machine(calls, fail), { input: { id: 'c' } }).start();
  actor.send({ type: birth });
  await waitFor(actor, isSettled);
  for (const e of events) {
    assert.ok(actor.getSnapshot().can(e), `${e.type} allowed in ${statusOf(actor.getSnapshot())}`);
    actor.send(e);
    await waitFor(actor, isSettled);
  }
  return { actor, calls, snap: actor.getSnapshot() };
}

test('creating → created → running → stopped → deleted', async () => {
  const { calls, snap } = await run([{ type: 'START' }, { type: 'EXITED' }, { type: 'DELETE', force: false }]);
  assert.equal(calls, ['create', 'start', 'delete']);
  assert.is(statusOf(snap), 'deleted');
});

test('running ⇄ paused, and kill keeps the state', async () => {
  const { calls, snap } = await run([{ type: 'START' }, { type: 'PAUSE' }, { type: 'KILL', signal: 9, all: false }, { type: 'RESUME' }]);
  assert.equal(calls, ['create', 'start', 'pause', 'kill', 'resume']);
  assert.is(statusOf(snap), 'running');
});

test('illegal events are refused and change nothing', async () => {
  const { actor } = await run([{ type: 'START' }]);
  const snap = actor.getSnapshot();
  for (const e of [{ type: 'START' }, { type: 'RESUME' }, { type: 'DELETE', force: false }] as ContainerEvent[]) assert.not.ok(snap.can(e), e.type);
  assert.ok(snap.can({ type: 'DELETE', force: true }), 'delete --force is allowed while running');
});

test('exec adds a process in created and running; in paused only when told to ignore the pause', async () => {
  const { calls, snap } = await run([{ type: 'EXEC', ignorePaused: false }, { type: 'START' }, { type: 'EXEC', ignorePaused: false }, { type: 'PAUSE' }]);
  assert.equal(calls, ['create', 'exec', 'start', 'exec', 'pause']);
  assert.not.ok(snap.can({ type: 'EXEC', ignorePaused: false }));
  assert.ok(snap.can({ type: 'EXEC', ignorePaused: true }));
  assert.is(refusal('paused', { type: 'EXEC', ignorePaused: false }, 'x'), 'cannot exec in a paused container (use --ignore-paused to override)');
  assert.is(refusal('stopped', { type: 'EXEC', ignorePaused: false }, 'x'), 'cannot exec in a stopped container');
});

test('stop from running; restart from stopped only', async () => {
  const { calls, snap } = await run([{ type: 'START' }, { type: 'STOP', timeoutSeconds: 1 }, { type: 'RESTART' }]);
  assert.equal(calls, ['create', 'start', 'stop', 'restart']);
  assert.is(statusOf(snap), 'running');
  assert.not.ok(snap.can({ type: 'RESTART' }));
  assert.is(refusal('running', { type: 'RESTART' }, 'x'), 'cannot restart a container that is not stopped: running');
  assert.is(refusal('created', { type: 'STOP', timeoutSeconds: 1 }, 'x'), 'container not running');
});

test('update changes limits in created, running and paused, and keeps the state', async () => {
  const { calls, snap } = await run([{ type: 'UPDATE' }, { type: 'START' }, { type: 'UPDATE' }, { type: 'PAUSE' }, { type: 'UPDATE' }]);
  assert.equal(calls, ['create', 'update', 'start', 'update', 'pause', 'update']);
  assert.is(statusOf(snap), 'paused');
  assert.is(refusal('stopped', { type: 'UPDATE' }, 'x'), 'container not running');
});

test('a stopped container can only be deleted or restarted', async () => {
  const { snap } = await run([{ type: 'EXITED' }]);
  assert.is(statusOf(snap), 'stopped');
  for (const e of [{ type: 'START' }, { type: 'KILL', signal: 15, all: false }, { type: 'PAUSE' }, { type: 'STOP', timeoutSeconds: 1 }, { type: 'UPDATE' }] as ContainerEvent[]) assert.not.ok(snap.can(e), e.type);
  assert.ok(snap.can({ type: 'DELETE', force: false }));
  assert.ok(snap.can({ type: 'RESTART' }));
});

test('a failed effect records its error and returns to where it was', async () => {
  const { snap } = await run([{ type: 'START' }], ['start']);
  assert.is(statusOf(snap), 'created');
  assert.is(snap.context.error, 'start failed');
});

test('a failed create ends in failed', async () => {
  const calls: string[] = [];
  const actor = createActor(machine(calls, ['create']), { input: { id: 'c' } }).start();
  actor.send({ type: 'CREATE' });
  const snap = await waitFor(actor, isSettled);
  assert.is(statusOf(snap), 'failed');
  assert.is(snap.context.error, 'create failed');
});

test('a persisted snapshot rehydrates to the same state', async () => {
  const { actor } = await run([{ type: 'START' }]);
  const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
  const again = createActor(machine([]), { snapshot: persisted, input: { id: 'c' } }).start();
  assert.is(statusOf(again.getSnapshot()), 'running');
  assert.ok(again.getSnapshot().can({ type: 'PAUSE' }));
});

test('restore: a new container that is running at once; a failed one ends in failed', async () => {
  const { calls, snap } = await run([], [], 'RESTORE');
  assert.equal(calls, ['restore']);
  assert.is(statusOf(snap), 'running');
  const failed = await run([], ['restore'], 'RESTORE');
  assert.is(statusOf(failed.snap), 'failed');
  assert.is(failed.snap.context.error, 'restore failed');
});

test('checkpoint: stopped after a dump, still running with leaveRunning, paused stays paused', async () => {
  const dumped = await run([{ type: 'START' }, { type: 'CHECKPOINT', leaveRunning: false }]);
  assert.is(statusOf(dumped.snap), 'stopped');
  assert.ok(dumped.snap.can({ type: 'DELETE', force: false }), 'a checkpointed container can be deleted');
  const kept = await run([{ type: 'START' }, { type: 'CHECKPOINT', leaveRunning: true }]);
  assert.is(statusOf(kept.snap), 'running');
  assert.ok(kept.snap.can({ type: 'CHECKPOINT', leaveRunning: false }), 'and can be checkpointed again');
  const paused = await run([{ type: 'START' }, { type: 'PAUSE' }, { type: 'CHECKPOINT', leaveRunning: true }]);
  assert.is(statusOf(paused.snap), 'paused');
  const failed = await run([{ type: 'START' }, { type: 'CHECKPOINT', leaveRunning: false }], ['checkpoint']);
  assert.is(statusOf(failed.snap), 'running', 'a failed dump leaves the container as it was');
  assert.is(failed.snap.context.error, 'checkpoint failed');
});

test('checkpoint is refused before start and after stop', async () => {
  const { snap } = await run([]);
  assert.not.ok(snap.can({ type: 'CHECKPOINT', leaveRunning: false }));
  assert.is(refusal('created', { type: 'CHECKPOINT', leaveRunning: false }, 'x'), 'Container cannot be checkpointed in created state');
  const stopped = await run([{ type: 'START' }, { type: 'EXITED' }]);
  assert.not.ok(stopped.snap.can({ type: 'CHECKPOINT', leaveRunning: false }));
});

test('refusals read as runc words them', () => {
  assert.is(refusal('running', { type: 'START' }, 'x'), 'cannot start an already running container');
  assert.is(refusal('stopped', { type: 'START' }, 'x'), 'cannot start a container that has stopped');
  assert.is(refusal('running', { type: 'DELETE', force: false }, 'x'), 'cannot delete container x that is not stopped: running');
  assert.is(refusal('stopped', { type: 'KILL', signal: 9, all: false }, 'x'), 'container not running');
  assert.is(refusal('running', { type: 'RESUME' }, 'x'), 'container not paused');
  assert.is(refusal('created', { type: 'PAUSE' }, 'x'), 'container not running');
});

test.run();
