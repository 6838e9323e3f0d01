// The container lifecycle as a statechart. Pure: effects are actors the host provides with
// `containerMachine.provide({ actors })`; the defaults here only refuse to run. Effects that need
// the operation's parameters (kill's signal, delete's force) get the event as input.
import { assign, fromPromise, setup, type SnapshotFrom } from 'xstate';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export type ContainerEvent =
  /** A new container: made from a bundle, or from a checkpoint's images. */
  | { type: 'CREATE' }
  | { type: 'RESTORE' }
  | { type: 'START' }
  | { type: 'KILL'; signal: number; all: boolean }
  /** A new process in the container (exec); in a paused one only when asked to ignore the pause. */
  | { type: 'EXEC'; ignorePaused: boolean }
  | { type: 'PAUSE' }
  /** Stop every process (SIGTERM, then SIGKILL after the timeout), keeping what can outlive them. */
  | { type: 'STOP'; timeoutSeconds: number }
  /** The seed's start of a stopped container: a new process in its kept namespaces and cgroup. */
  | { type: 'RESTART' }
  | { type: 'RESUME' }
  /** New resource limits (the operation carries them); allowed wherever kill is. */
  | { type: 'UPDATE' }
  | { type: 'DELETE'; force: boolean }
  /** The container's process was seen dead. */
  | { type: 'EXITED' }
  /** CRIU dumps the processes; they end unless asked to keep running. */
  | { type: 'CHECKPOINT'; leaveRunning: boolean };

/** The effects a host provides, one per operation, by name. */
export const OPERATIONS = ['create', 'restore', 'start', 'kill', 'exec', 'pause', 'resume', 'update', 'stop', 'restart', 'checkpoint', 'delete'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface ContainerContext {
  id: string;
  /** The last refused or failed operation's message; cleared when the next one begins. */
  error: string | null;
}

const noEffect = <Output = void>(op: Operation) =>
  fromPromise<Output, unknown>(async () => {
    throw new Error(`no effect provided for ${op}`);
  });

/**
 * A busy substate that runs the effect SRC — given the event when it needs the operation's
 * parameters — and goes to DONE; a failure goes back to idle with its message kept.
 */
const effectState = <S extends Operation>(src: S, done: string, withEvent = false) => ({
  tags: ['busy'],
  entry: 'clearError' as const,
  invoke: {
    src,
    ...(withEvent ? { input: ({ event }: { event: ContainerEvent }) => event } : {}),
    onDone: done,
    onError: { target: 'idle', actions: 'recordError' as const },
  },
});

/**
 * While the container's process exists, a signal can be sent, a process added and limits changed,
 * without leaving the state; its death is noticed, and delete --force removes it.
 */
const acting = {
  initial: 'idle' as const,
  on: {
    KILL: '.signalling',
    EXEC: '.executing',
    UPDATE: '.updating',
    EXITED: 'stopped',
    DELETE: { guard: 'forced' as const, target: 'deleting' },
  },
  states: {
    idle: {},
    signalling: effectState('kill', 'idle', true),
    executing: effectState('exec', 'idle', true),
    updating: effectState('update', 'idle'),
  },
};

/** A checkpoint's effect resolves with whether the processes still run (--leave-running, --pre-dump). */
const checkpointing = {
  tags: ['busy'],
  entry: 'clearError' as const,
  invoke: {
    src: 'checkpoint' as const,
    input: ({ event }: { event: ContainerEvent }) => event,
    onDone: [{ guard: 'stillRunning' as const, target: 'idle' }, { target: '#container.stopped' }],
    onError: { target: 'idle', actions: 'recordError' as const },
  },
};

export const containerMachine = setup({
  types: {
    context: {} as ContainerContext,
    events: {} as ContainerEvent,
    input: {} as { id: string },
  },
  actors: {
    create: noEffect('create'),
    start: noEffect('start'),
    kill: noEffect('kill'),
    exec: noEffect('exec'),
    pause: noEffect('pause'),
    stop: noEffect('stop'),
    restart: noEffect('restart'),
    resume: noEffect('resume'),
    update: noEffect('update'),
    delete: noEffect('delete'),
    checkpoint: noEffect<boolean>('checkpoint'),
    restore: noEffect('restore'),
  },
  actions: {
    recordError: assign({
      error: ({ event }) => {
        const e = (event as { error?: unknown }).error;
        return e instanceof Error ? e.message : String(e);
      },
    }),
    clearError: assign({ error: null }),
  },
  guards: {
    forced: ({ event }) => event.type === 'DELETE' && event.force,
    ignoresPause: ({ event }) => event.type === 'EXEC' && event.ignorePaused,
    stillRunning: ({ event }) => (event as { output?: unknown }).output === true,
  },
}).createMachine({
  id: 'container',
  context: ({ input }) => ({ id: input.id, error: null }),
  initial: 'new',
  states: {
    new: {
      on: { CREATE: 'creating', RESTORE: 'restoring' },
    },
    creating: {
      tags: ['busy'],
      invoke: { src: 'create', onDone: 'created', onError: { target: 'failed', actions: 'recordError' as const } },
    },
    restoring: {
      tags: ['busy'],
      invoke: { src: 'restore', onDone: 'running', onError: { target: 'failed', actions: 'recordError' as const } },
    },
    created: {
      ...acting,
      on: { ...acting.on, START: '.starting' },
      states: {
        ...acting.states,
        starting: effectState('start', '#container.running'),
      },
    },
    running: {
      ...acting,
      on: { ...acting.on, PAUSE: '.pausing', STOP: '.stopping', CHECKPOINT: '.checkpointing' },
      states: {
        ...acting.states,
        checkpointing,
        pausing: effectState('pause', '#container.paused'),
        stopping: effectState('stop', '#container.stopped', true),
      },
    },
    paused: {
      ...acting,
      on: { ...acting.on, RESUME: '.resuming', EXEC: { guard: 'ignoresPause', target: '.executing' }, CHECKPOINT: '.checkpointing' },
      states: {
        ...acting.states,
        checkpointing,
        resuming: effectState('resume', '#container.running'),
      },
    },
    stopped: {
      initial: 'idle',
      on: { DELETE: 'deleting', RESTART: '.restarting' },
      states: {
        idle: {},
        restarting: effectState('restart', '#container.running'),
      },
    },
    deleting: {
      tags: ['busy'],
      entry: 'clearError' as const,
      invoke: {
        src: 'delete',
        input: ({ event }: { event: ContainerEvent }) => event,
        onDone: 'deleted',
        // A failed delete leaves what it could not remove; the container reads as stopped again.
        onError: { target: 'stopped', actions: 'recordError' as const },
      },
    },
    deleted: { type: 'final' },
    failed: { type: 'final' },
  },
});

export type ContainerSnapshot = SnapshotFrom<typeof containerMachine>;

/** The lifecycle status a snapshot stands for (the top-level state). */
export function statusOf(snapshot: ContainerSnapshot): Status | 'deleted' | 'failed' {
  const v = snapshot.value;
  return (typeof v === 'string' ? v : Object.keys(v)[0]) as Status | 'deleted' | 'failed';
}

/** True when no effect is under way: the snapshot may be persisted or answered from. */
export function isSettled(snapshot: ContainerSnapshot): boolean {
  return snapshot.status !== 'active' || !snapshot.hasTag('busy');
}

/**
 * The error an operation gets when the machine refuses its event, worded as runc words it
 * (clients such as containerd match on these).
 */
export function refusal(status: Status | 'deleted' | 'failed', event: ContainerEvent, id: string): string {
  switch (event.type) {
    case 'START':
      if (status === 'stopped') return 'cannot start a container that has stopped';
      if (status === 'running') return 'cannot start an already running container';
      return `cannot start a container in the ${status} state`;
    case 'KILL':
    case 'STOP':
    case 'UPDATE':
      return 'container not running';
    case 'EXEC':
      return status === 'paused' ? 'cannot exec in a paused container (use --ignore-paused to override)' : `cannot exec in a ${status} container`;
    case 'PAUSE':
      return status === 'paused' ? 'container already paused' : 'container not running';
    case 'RESUME':
      return 'container not paused';
    case 'RESTART':
      return `cannot restart a container that is not stopped: ${status}`;
    case 'DELETE':
      return `cannot delete container ${id} that is not stopped: ${status}`;
    case 'EXITED':
      return `container ${id} has no process to lose in the ${status} state`;
    case 'CHECKPOINT':
      return `Container cannot be checkpointed in ${status} state`;
    case 'CREATE':
    case 'RESTORE':
      return `container with id exists: ${id}`;
  }
}
