// ContainerActor: one operation on one container, top to bottom. Under the container's lock it reads
// the recorded state and the machine's snapshot in it, asks the machine whether the operation's
// event is legal there (if not, runc's refusal), runs the operation as plain code with its request
// (actors/operations/*), gives the machine the outcome (DONE or FAILED) and persists the state that
// follows. It holds nothing between operations, so it runs wherever the host puts it — a pooled
// worker thread, or the CLI's own thread — and no container keeps a thread while idle.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { initial, next, persisted, refusal, rehydrate, statusOf, type ContainerEvent, type ContainerSnapshot, type PersistedMachine, type Status } from '../machines/container.js';
import { BerthError, isErrno } from '../native/errors.js';
import { thisProcess, type ProcessParent } from '../native/processParent.js';
import { sendPidfd } from '../native/console.js';
import { closeFd } from '../native/syscalls.js';
import type { Resources } from '../native/spec/config.js';
import { lockFolder } from './folderLock.js';
import type { HookClient } from './hookRunner.js';
import { createLogger, type LogOptions } from './log.js';
import { requireState, saveState, type OperationContext } from './operations/context.js';
import { createContainer, prepareCreate, undoNewContainer, type CreateRequest } from './operations/create.js';
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
import { containerDir, makeContainerDir, processAlive, readState, unrecordedOp, validateId, writeAtomic, type StateFile } from './stateStore.js';
import { faultPoint } from './faultPoint.js';

export interface HostOptions {
  root: string;
  log: LogOptions;
}

/** One operation's request, by op: what its code in actors/operations/ is given. */
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

/** The operations on a container that exists. */
type ExistingRequest = Exclude<OperationRequest, { op: 'create' | 'restore' }>;

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

/** The machine's event for an operation on an existing container. */
function eventOf(req: ExistingRequest): ContainerEvent {
  switch (req.op) {
    case 'start':
      return req.restart ? { type: 'RESTART' } : { type: 'START' };
    case 'stop':
      return { type: 'STOP' };
    case 'kill':
      return { type: 'KILL', all: req.all };
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
      return { type: 'CHECKPOINT' };
  }
}

/** What an operation made: for its result, and (stillRunning) for the machine's next state. */
interface Made {
  exec?: ExecResult;
  resources?: Resources;
  /** After a checkpoint: whether the processes still run. */
  stillRunning?: boolean;
}

/** The operation itself, plain code with its request; the machine has let its event through. */
async function operation(ctx: OperationContext, req: ExistingRequest): Promise<Made> {
  switch (req.op) {
    case 'start':
      await (req.restart ? restartContainer(ctx, req) : startContainer(ctx));
      return {};
    case 'stop':
      await stopContainer(ctx, req);
      return {};
    case 'kill':
      killContainer(ctx, req);
      return {};
    case 'delete':
      await deleteContainer(ctx);
      return {};
    case 'exec':
      return { exec: await execProcess(ctx, req.exec) };
    case 'pause':
      await pauseContainer(ctx);
      return {};
    case 'resume':
      resumeContainer(ctx);
      return {};
    case 'update':
      return { resources: updateContainer(ctx, req) };
    case 'checkpoint':
      return { stillRunning: await checkpointContainer(ctx, req.checkpoint) };
  }
}

/**
 * The recorded machine (this format, or XState's persisted snapshot that berth wrote before: the
 * same value and context); for a container whose creator died mid-way, the state it is in now.
 */
function recordedMachine(state: StateFile): ContainerSnapshot {
  const machine = state.berth.machine as PersistedMachine | null;
  if (machine) return rehydrate(machine);
  const value = state.status === 'creating' ? (processAlive(state) ? 'created' : 'stopped') : state.status;
  return rehydrate({ value, context: { id: state.id, error: null } });
}

/** Persist the settled SNAPSHOT with the state the operation left in CTX; returns its status. */
function persist(ctx: OperationContext, snapshot: ContainerSnapshot): Status {
  const status = statusOf(snapshot) as Status;
  const state = requireState(ctx);
  saveState(ctx, { ...state, status, berth: { ...state.berth, machine: persisted(snapshot) } });
  return status;
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * A new container (create, restore): everything checked before its folder exists, then MAKE runs
 * under the machine's EVENT, and resolves with a terminal's master when one was asked back. A
 * failed MAKE undoes all it made, the folder too: the machine's `failed` has nowhere to be kept.
 * So does a failure after it, of the record or of telling the caller the pid (TELL: the pid file, a
 * pidfd sent), which comes last: a client that reads it finds the container recorded.
 */
async function newContainer(ctx: OperationContext, event: 'CREATE' | 'RESTORE', make: () => Promise<number | undefined>, tell: { pidFile?: string; pidfdSocket?: string }): Promise<OperationResult> {
  const unlock = makeContainerDir(ctx.root, ctx.id) ?? (await lockFolder(ctx.dir));
  try {
    const busy = next(initial(ctx.id), { type: event });
    const terminal = await make();
    try {
      const status = persist(ctx, next(busy, { type: 'DONE' }));
      faultPoint('create.recorded-created');
      const { pid } = requireState(ctx);
      if (tell.pidFile) writeAtomic(resolve(tell.pidFile), String(pid));
      if (tell.pidfdSocket) sendPidfd(resolve(tell.pidfdSocket), pid);
      return { id: ctx.id, status, pid, terminal };
    } catch (e) {
      if (terminal !== undefined) closeFd(terminal);
      await undoNewContainer(ctx, requireState(ctx), event.toLowerCase(), e);
      throw e;
    }
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
function readOrAbandoned(ctx: OperationContext, req: ExistingRequest): StateFile | null {
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

async function operate(ctx: OperationContext, req: ExistingRequest): Promise<OperationResult> {
  let unlock: (() => void) | null = null;
  try {
    unlock = exclusive(req.op) ? await lockFolder(ctx.dir) : null;
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
    // Nothing to delete is what delete --force asks for: runc and crun exit 0 (podman sends it after a failed create).
    if (req.op === 'delete' && req.force) return { id: ctx.id, status: 'deleted', pid: 0 };
    throw new BerthError('container does not exist', 'not-found');
  }
  try {
    ctx.state = readOrAbandoned(ctx, req);
    if (!ctx.state) return { id: ctx.id, status: 'deleted', pid: 0 };
    let snapshot = recordedMachine(ctx.state);
    const recorded = statusOf(snapshot);
    const live = recorded === 'created' || recorded === 'running' || recorded === 'paused';
    if (live && !processAlive(ctx.state)) snapshot = next(snapshot, { type: 'EXITED' });
    else if (live) {
      // A start, pause or resume that was done but not recorded: the container is as the kernel shows.
      const op = unrecordedOp(ctx.state, ctx.dir);
      if (op) snapshot = next(next(snapshot, { type: op }), { type: 'DONE' });
    }
    const event = eventOf(req);
    if (!snapshot.can(event)) throw new BerthError(refusal(statusOf(snapshot), event, ctx.id), 'state');
    const busy = next(snapshot, event);
    let made: Made;
    try {
      made = await operation(ctx, req);
    } catch (e) {
      // Where a failure leads is recorded too (a failed delete reads as stopped); the error is the operation's.
      if (unlock) {
        try {
          persist(ctx, next(busy, { type: 'FAILED', message: messageOf(e) }));
        } catch (write) {
          if (e instanceof Error) e.message += `; and its state could not be recorded: ${messageOf(write)}`;
        }
      }
      throw e;
    }
    const after = next(busy, { type: 'DONE', stillRunning: made.stillRunning });
    const status = statusOf(after);
    if (status === 'deleted') return { id: ctx.id, status, pid: ctx.state.pid };
    return { id: ctx.id, status: unlock ? persist(ctx, after) : (status as Status), pid: ctx.state.pid, execPid: made.exec?.pid, terminal: made.exec?.terminal, resources: made.resources };
  } finally {
    unlock?.();
  }
}

async function perform(ctx: OperationContext, req: OperationRequest): Promise<OperationResult> {
  if (req.op === 'create') {
    const prepared = prepareCreate(ctx, req.create);
    return newContainer(ctx, 'CREATE', () => createContainer(ctx, req.create, prepared), req.create);
  }
  if (req.op === 'restore') {
    const prepared = prepareRestore(ctx, req.restore);
    return newContainer(ctx, 'RESTORE', () => restoreContainer(ctx, req.restore, prepared), { pidFile: req.restore.pidFile });
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

/** Operations under way on this thread (a worker's, or the coordinator's for an inline host). */
let underWay = 0;
const alone = () => underWay === 1;

/** Run one operation. Never throws: the outcome carries the error. */
export async function performOperation(req: OperationRequest, services: OperationServices): Promise<Outcome> {
  underWay++;
  try {
    validateId(req.id);
    const ctx: OperationContext = { root: req.root, id: req.id, dir: containerDir(req.root, req.id), log: createLogger(req.log), state: null, hooks: services.hooks, parent: services.parent ?? thisProcess, alone };
    const result = await perform(ctx, req);
    return { ok: true, result };
  } catch (e) {
    const kind = e instanceof BerthError ? e.kind : 'failed';
    return { ok: false, error: { message: e instanceof Error ? e.message : String(e), kind } };
  } finally {
    underWay--;
  }
}
