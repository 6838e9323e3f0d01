// ContainerActor: one operation on one container. It rehydrates the container's machine from the
// state folder, gives it the effects (actors/operations/*), sends the operation's event, waits for
// the machine to settle and persists it. It holds nothing between operations, so it runs wherever
// the host puts it — a pooled worker thread, or the CLI's own thread — and no container keeps a
// thread while idle.
import { rmSync } from 'node:fs';
import { createActor, fromPromise, waitFor, type Actor } from 'xstate';
import { containerMachine, isSettled, OPERATIONS, refusal, statusOf, type ContainerEvent, type ContainerSnapshot, type Operation, type Status } from '../machines/container.js';
import { BerthError, isErrno } from '../native/errors.js';
import { thisProcess, type ProcessParent } from '../native/processParent.js';
import type { Resources } from '../native/spec/config.js';
import { lockFolder } from './folderLock.js';
import type { HookClient } from './hookRunner.js';
import { createLogger, type LogOptions } from './log.js';
import { requireState, saveState, type OperationContext } from './operations/context.js';
import { createContainer, prepareCreate, type CreateRequest } from './operations/create.js';
import { deleteContainer } from './operations/delete.js';
import { execProcess, type ExecRequest, type ExecResult } from './operations/exec.js';
import { checkpointContainer, type CheckpointRequest } from './operations/checkpoint.js';
import { killContainer, type KillRequest } from './operations/kill.js';
import { pauseContainer } from './operations/pause.js';
import { restartContainer, type RestartRequest } from './operations/restart.js';
import { resumeContainer } from './operations/resume.js';
import { prepareRestore, restoreContainer, type RestoreRequest } from './operations/restore.js';
import { startContainer } from './operations/start.js';
import { stopContainer, type StopRequest } from './operations/stop.js';
import { updateContainer, type UpdateRequest } from './operations/update.js';
import { containerDir, makeContainerDir, processAlive, readState, validateId, type StateFile } from './stateStore.js';

export interface HostOptions {
  root: string;
  log: LogOptions;
}

export type OperationRequest = HostOptions &
  (
    | { op: 'create'; id: string; create: CreateRequest }
    | ({ op: 'start'; id: string; restart?: boolean } & RestartRequest)
    | ({ op: 'stop'; id: string } & StopRequest)
    | ({ op: 'kill'; id: string } & KillRequest)
    | { op: 'exec'; id: string; exec: ExecRequest; ignorePaused: boolean }
    | { op: 'pause'; id: string }
    | { op: 'resume'; id: string }
    | ({ op: 'update'; id: string } & UpdateRequest)
    | { op: 'delete'; id: string; force: boolean }
    | { op: 'checkpoint'; id: string; checkpoint: CheckpointRequest }
    | { op: 'restore'; id: string; restore: RestoreRequest }
  );

export interface OperationResult {
  id: string;
  status: Status | 'deleted';
  /** The container process's pid (for a delete: the one it had). */
  pid: number;
  /** The pty master, when create or exec was asked to hand it back. */
  terminal?: number;
  /** The exec'd process. */
  execPid?: number;
  /** After an update: the container's resources as now recorded. */
  resources?: Resources;
}

/** What crosses the thread boundary: errors as data, so their kind survives structured cloning. */
export type Outcome = { ok: true; result: OperationResult } | { ok: false; error: { message: string; kind: BerthError['kind'] } };

type Effects = Partial<Record<Operation, (input: ContainerEvent) => unknown>>;

/** One operation's effects, and the first effect failure as thrown (typed), for the caller. */
interface Run {
  effects: Effects;
  failures: unknown[];
}

// Effects are per operation, but providing them makes a new machine, whose transitions XState
// then recomputes (≈1 ms an operation). So the machine is made once per thread, and its actors find
// the operation's effects by the actor system the operation's actor runs in.
const runs = new WeakMap<object, Run>();
const machine = containerMachine.provide({
  actors: Object.fromEntries(
    OPERATIONS.map((name) => [
      name,
      fromPromise<unknown, unknown>(async ({ input, system }) => {
        const run = runs.get(system);
        const effect = run?.effects[name];
        if (!run || !effect) throw new Error(`no effect for ${name}`);
        try {
          return await effect(input as ContainerEvent);
        } catch (e) {
          run.failures.push(e);
          throw e;
        }
      }),
    ]),
  ),
});

/** An actor of the machine that runs EFFECTS, from SNAPSHOT when given; started. */
function startActor(effects: Effects, id: string, snapshot?: ContainerSnapshot) {
  const actor = createActor(machine, { snapshot, input: { id } });
  const run = { effects, failures: [] };
  runs.set(actor.system, run);
  actor.start();
  return { actor, failures: run.failures };
}

/** What an operation made, for its result. */
interface Made {
  exec?: ExecResult;
  resources?: Resources;
}

/** The effects of the operations on an existing container; what they make is kept in OUT. */
function effectsFor(ctx: OperationContext, req: OperationRequest, out: Made): Effects {
  return {
    start: () => startContainer(ctx),
    kill: (e) => e.type === 'KILL' && killContainer(ctx, e),
    exec: async () => {
      if (req.op === 'exec') out.exec = await execProcess(ctx, req.exec);
    },
    pause: () => pauseContainer(ctx),
    resume: () => resumeContainer(ctx),
    update: () => {
      if (req.op === 'update') out.resources = updateContainer(ctx, req);
    },
    stop: (e) => e.type === 'STOP' && stopContainer(ctx, e),
    restart: () => req.op === 'start' && restartContainer(ctx, req),
    delete: () => deleteContainer(ctx),
    checkpoint: () => req.op === 'checkpoint' && checkpointContainer(ctx, req.checkpoint),
  };
}

/** The recorded machine, or for a container whose creator died mid-way, the state it is in now. */
function recordedMachine(state: StateFile): ContainerSnapshot {
  if (state.berth.machine) return state.berth.machine as ContainerSnapshot;
  const value = state.status === 'creating' ? (processAlive(state) ? 'created' : 'stopped') : state.status;
  return containerMachine.resolveState({ value, context: { id: state.id, error: null } });
}

function persist(ctx: OperationContext, actor: Actor<typeof containerMachine>): Status {
  const snap = actor.getSnapshot();
  const status = statusOf(snap) as Status;
  saveState(ctx, { ...requireState(ctx), status, berth: { ...requireState(ctx).berth, machine: actor.getPersistedSnapshot() } });
  return status;
}

async function settle(actor: Actor<typeof containerMachine>, failures: unknown[]): Promise<ContainerSnapshot> {
  const snap = await waitFor(actor, isSettled);
  if (snap.context.error !== null) throw failures[0] ?? new BerthError(snap.context.error);
  return snap;
}

function eventOf(req: OperationRequest): ContainerEvent {
  switch (req.op) {
    case 'start':
      return req.restart ? { type: 'RESTART' } : { type: 'START' };
    case 'stop':
      return { type: 'STOP', timeoutSeconds: req.timeoutSeconds };
    case 'kill':
      return { type: 'KILL', signal: req.signal, all: req.all };
    case 'delete':
      return { type: 'DELETE', force: req.force };
    case 'exec':
      return { type: 'EXEC', ignorePaused: req.ignorePaused };
    case 'pause':
      return { type: 'PAUSE' };
    case 'resume':
      return { type: 'RESUME' };
    case 'update':
      return { type: 'UPDATE' };
    case 'checkpoint':
      return { type: 'CHECKPOINT', leaveRunning: req.checkpoint.leaveRunning ?? false };
    case 'create':
    case 'restore':
      throw new Error(`${req.op} makes a container: it is not an event of an existing one`);
  }
}

/**
 * A new container (create, restore): everything checked before its folder exists, then the
 * machine's EVENT runs EFFECT, which resolves with a terminal's master when one was asked back.
 */
async function newContainer(ctx: OperationContext, event: 'CREATE' | 'RESTORE', effect: () => Promise<number | undefined>): Promise<OperationResult> {
  makeContainerDir(ctx.root, ctx.id);
  const unlock = await lockFolder(ctx.dir);
  try {
    let terminal: number | undefined;
    const effects = { [event === 'CREATE' ? 'create' : 'restore']: async () => (terminal = await effect()) };
    const { actor, failures } = startActor(effects, ctx.id);
    actor.send({ type: event });
    await settle(actor, failures);
    const status = persist(ctx, actor);
    return { id: ctx.id, status, pid: requireState(ctx).pid, terminal };
  } finally {
    unlock();
  }
}

/** Operations that change the container's state hold its lock; kill and exec only add to it. */
const exclusive = (op: OperationRequest['op']) => op !== 'kill' && op !== 'exec';

/**
 * A state folder without state.json is a create that died before it recorded anything (nothing
 * else exists yet then: the state is written before the cgroup and the process). delete --force
 * removes it; everything else calls it what it is.
 */
function readOrAbandoned(ctx: OperationContext, req: OperationRequest): StateFile | null {
  try {
    return readState(ctx.root, ctx.id);
  } catch (e) {
    if (e instanceof BerthError && e.kind === 'not-found' && req.op === 'delete' && req.force) {
      rmSync(ctx.dir, { recursive: true, force: true });
      return null;
    }
    throw e;
  }
}

async function operate(ctx: OperationContext, req: OperationRequest): Promise<OperationResult> {
  let unlock: (() => void) | null = null;
  try {
    unlock = exclusive(req.op) ? await lockFolder(ctx.dir) : null;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw new BerthError('container does not exist', 'not-found');
    throw e;
  }
  try {
    ctx.state = readOrAbandoned(ctx, req);
    if (!ctx.state) return { id: ctx.id, status: 'deleted', pid: 0 };
    const out: Made = {};
    const { actor, failures } = startActor(effectsFor(ctx, req, out), ctx.id, recordedMachine(ctx.state));
    const recorded = statusOf(actor.getSnapshot());
    if ((recorded === 'created' || recorded === 'running' || recorded === 'paused') && !processAlive(ctx.state)) actor.send({ type: 'EXITED' });
    const event = eventOf(req);
    const before = actor.getSnapshot();
    if (!before.can(event)) throw new BerthError(refusal(statusOf(before), event, ctx.id), 'state');
    actor.send(event);
    const after = await settle(actor, failures);
    const status = statusOf(after);
    if (status === 'deleted') return { id: ctx.id, status, pid: ctx.state.pid };
    return { id: ctx.id, status: unlock ? persist(ctx, actor) : (status as Status), pid: ctx.state.pid, execPid: out.exec?.pid, terminal: out.exec?.terminal, resources: out.resources };
  } finally {
    unlock?.();
  }
}

async function perform(ctx: OperationContext, req: OperationRequest): Promise<OperationResult> {
  if (req.op === 'create') {
    const prepared = prepareCreate(ctx, req.create);
    return newContainer(ctx, 'CREATE', () => createContainer(ctx, req.create, prepared));
  }
  if (req.op === 'restore') {
    const prepared = prepareRestore(ctx, req.restore);
    return newContainer(ctx, 'RESTORE', () => restoreContainer(ctx, req.restore, prepared));
  }
  return operate(ctx, req);
}

/** What an operation gets from where it runs. */
export interface OperationServices {
  /** Runs config.json's hooks. */
  hooks: HookClient;
  /** Whose children the container's processes become; this process when absent. */
  parent?: ProcessParent;
}

/** Run one operation. Never throws: the outcome carries the error. */
export async function performOperation(req: OperationRequest, services: OperationServices): Promise<Outcome> {
  try {
    validateId(req.id);
    const ctx: OperationContext = { root: req.root, id: req.id, dir: containerDir(req.root, req.id), log: createLogger(req.log), state: null, hooks: services.hooks, parent: services.parent ?? thisProcess };
    const result = await perform(ctx, req);
    return { ok: true, result };
  } catch (e) {
    const kind = e instanceof BerthError ? e.kind : 'failed';
    return { ok: false, error: { message: e instanceof Error ? e.message : String(e), kind } };
  }
}
