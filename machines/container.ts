// The container lifecycle as a statechart, and nothing more: which events each state accepts and
// which state follows. It runs no code. An operation's event enters a busy substate, the operation
// runs as plain code outside the machine (actors/containerActor.ts), and its outcome comes back as
// DONE or FAILED. So the machine is a pure function of (snapshot, event): `next` below, no actor.
import { assign, createActor, setup, type ActorScope, type SnapshotFrom, type StateValue } from 'xstate';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** What an operation asks of the machine; only what the machine's guards read is carried. */
export type ContainerEvent =
  /** A new container: made from a bundle, or from a checkpoint's images. */
  | { type: 'CREATE' }
  | { type: 'RESTORE' }
  | { type: 'START' }
  /** A signal; with `all`, to every process in the container's cgroup, which a stopped container may still have. */
  | { type: 'KILL'; all: boolean }
  /** A new process in the container (exec); in a paused one only when asked to ignore the pause. */
  | { type: 'EXEC'; ignorePaused: boolean }
  | { type: 'PAUSE' }
  /** Stop every process (SIGTERM, then SIGKILL after the timeout), keeping what can outlive them. */
  | { type: 'STOP' }
  /** The seed's start of a stopped container: a new process in its kept namespaces and cgroup. */
  | { type: 'RESTART' }
  | { type: 'RESUME' }
  /** New resource limits; allowed wherever kill is. */
  | { type: 'UPDATE' }
  | { type: 'DELETE'; force: boolean }
  /** The container's process was seen dead. */
  | { type: 'EXITED' }
  /** CRIU dumps the processes; whether they go on running is the dump's outcome (DONE). */
  | { type: 'CHECKPOINT' };

/** How the operation of a busy state ended. */
export type OutcomeEvent =
  /** stillRunning: after a checkpoint, whether the processes go on (--leave-running, --pre-dump). */
  | { type: 'DONE'; stillRunning?: boolean }
  | { type: 'FAILED'; message: string };

type MachineEvent = ContainerEvent | OutcomeEvent;

export interface ContainerContext {
  id: string;
  /** The last failed operation's message; cleared when the next one begins. */
  error: string | null;
}

/**
 * A busy substate: the operation it names (`runs`, for the statechart) is under way. DONE goes
 * to DONE_TARGET; FAILED back to FAILED_TARGET (idle by default), with its message kept.
 */
const busy = (runs: string, doneTarget: string | { guard?: 'stillRunning'; target: string }[], failedTarget = 'idle') => ({
  tags: ['busy'],
  meta: { runs },
  entry: 'clearError' as const,
  on: {
    DONE: doneTarget,
    FAILED: { target: failedTarget, actions: 'recordError' as const },
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
    signalling: busy('kill', 'idle'),
    executing: busy('exec', 'idle'),
    updating: busy('update', 'idle'),
  },
};

/** A dump that leaves the processes running returns to idle; one that ends them, to stopped. */
const checkpointing = busy('checkpoint', [{ guard: 'stillRunning', target: 'idle' }, { target: '#container.stopped' }]);

export const containerMachine = setup({
  types: {
    context: {} as ContainerContext,
    events: {} as MachineEvent,
    input: {} as { id: string },
  },
  actions: {
    recordError: assign({ error: ({ event }) => (event.type === 'FAILED' ? event.message : null) }),
    clearError: assign({ error: null }),
  },
  guards: {
    forced: ({ event }) => event.type === 'DELETE' && event.force,
    ignoresPause: ({ event }) => event.type === 'EXEC' && event.ignorePaused,
    toAll: ({ event }) => event.type === 'KILL' && event.all,
    stillRunning: ({ event }) => event.type === 'DONE' && event.stillRunning === true,
  },
}).createMachine({
  id: 'container',
  context: ({ input }) => ({ id: input.id, error: null }),
  initial: 'new',
  states: {
    new: {
      on: { CREATE: 'creating', RESTORE: 'restoring' },
    },
    creating: busy('create', 'created', 'failed'),
    restoring: busy('restore', 'running', 'failed'),
    created: {
      ...acting,
      on: { ...acting.on, START: '.starting' },
      states: {
        ...acting.states,
        starting: busy('start', '#container.running'),
      },
    },
    running: {
      ...acting,
      on: { ...acting.on, PAUSE: '.pausing', STOP: '.stopping', CHECKPOINT: '.checkpointing' },
      states: {
        ...acting.states,
        checkpointing,
        pausing: busy('pause', '#container.paused'),
        stopping: busy('stop', '#container.stopped'),
      },
    },
    paused: {
      ...acting,
      on: { ...acting.on, RESUME: '.resuming', EXEC: { guard: 'ignoresPause', target: '.executing' }, CHECKPOINT: '.checkpointing' },
      states: {
        ...acting.states,
        checkpointing,
        resuming: busy('resume', '#container.running'),
      },
    },
    // Its process is gone, but without a pid namespace of its own its children may not be: kill
    // --all reaches them (runc's and crun's, which containerd's shim sends when the init exits).
    stopped: {
      initial: 'idle',
      on: { DELETE: 'deleting', RESTART: '.restarting', KILL: { guard: 'toAll', target: '.signalling' } },
      states: {
        idle: {},
        signalling: busy('kill', 'idle'),
        restarting: busy('restart', '#container.running'),
      },
    },
    // A failed delete leaves what it could not remove; the container reads as stopped again.
    deleting: busy('delete', 'deleted', 'stopped'),
    deleted: { type: 'final' },
    failed: { type: 'final' },
  },
});

export type ContainerSnapshot = SnapshotFrom<typeof containerMachine>;

/**
 * What XState's machine.transition needs around it, made once (on first use: a call that reads
 * no container does not pay for it). XState's own pure `transition()` makes a throwaway actor for
 * every call, as much CPU as the actor per operation this replaced; the machine has no actions to
 * run and invokes nothing, so one inert scope serves every call. An action that did need running
 * would make the machine impure: it throws.
 */
let scope: ActorScope<ContainerSnapshot, MachineEvent> | null = null;
function inertScope(): ActorScope<ContainerSnapshot, MachineEvent> {
  if (scope) return scope;
  const self = createActor(containerMachine, { input: { id: '' } });
  scope = {
    self,
    system: self.system,
    id: '',
    sessionId: '',
    logger: () => {},
    defer: () => {},
    emit: () => {},
    stopChild: () => {},
    actionExecutor: (action) => {
      throw new Error(`the container machine runs no actions, but ${action.type} was to run`);
    },
  };
  return scope;
}

/** A new container's snapshot: in `new`, where only CREATE and RESTORE are taken. */
export function initial(id: string): ContainerSnapshot {
  return containerMachine.getInitialSnapshot(inertScope(), { id });
}

/** The snapshot EVENT leads to from SNAPSHOT; the same state when SNAPSHOT does not take EVENT. */
export function next(snapshot: ContainerSnapshot, event: MachineEvent): ContainerSnapshot {
  return containerMachine.transition(snapshot, event, inertScope());
}

/** What is read back of a persisted snapshot: its state and context. */
export interface PersistedMachine {
  /** The state, as XState writes it: `"stopped"`, `{ "running": "idle" }`. */
  value: StateValue;
  context: ContainerContext;
}

/** A settled snapshot as state.json keeps it: XState's persisted form, as berth has always written it. */
export const persisted = (snapshot: ContainerSnapshot): unknown => containerMachine.getPersistedSnapshot(snapshot);

/** The snapshot a persisted one (or a bare value and context) stands for; throws for a state the machine lacks. */
export const rehydrate = (m: PersistedMachine): ContainerSnapshot => containerMachine.resolveState({ value: m.value as ContainerSnapshot['value'], context: m.context });

/** The lifecycle status a snapshot stands for (the top-level state). */
export function statusOf(snapshot: ContainerSnapshot): Status | 'deleted' | 'failed' {
  const v = snapshot.value;
  return (typeof v === 'string' ? v : Object.keys(v)[0]) as Status | 'deleted' | 'failed';
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
