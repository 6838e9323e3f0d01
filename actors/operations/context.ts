// What every operation works with: the container's folder, its recorded state, and a way to save it.
import { sendFdTo } from '../../native/console.js';
import { BerthError } from '../../native/errors.js';
import type { Hook, HookKind, Seccomp } from '../../native/spec/config.js';
import type { HookClient, HookRun } from '../hookRunner.js';
import type { Logger } from '../log.js';
import type { ProcessParent } from '../../native/processParent.js';
import { innermostPid } from '../../native/procfs.js';
import { OCI_VERSION, writeState, type OciState, type StateFile } from '../stateStore.js';

export interface OperationContext {
  root: string;
  id: string;
  dir: string;
  log: Logger;
  /** The state being worked on; null until create has recorded it. */
  state: StateFile | null;
  /** Where hooks are run (the coordinator's runner, serialized). */
  hooks: HookClient;
  /** Whose children the container's processes (and CRIU's restored ones) become. */
  parent: ProcessParent;
  /**
   * No other operation is under way on this thread: a system call that waits for a kernel lock may
   * then wait in place, which is cheaper than a hop to libuv's pool and back (see createCgroup).
   */
  alone(): boolean;
}

/** Record the state on disk (atomically) and in the context. */
export function saveState(ctx: OperationContext, state: StateFile): void {
  writeState(ctx.dir, state);
  ctx.state = state;
}

export function requireState(ctx: OperationContext): StateFile {
  if (!ctx.state) throw new Error(`container ${ctx.id} has no recorded state`);
  return ctx.state;
}

/** The spec's state of a container, as hooks and a seccomp agent get it. */
export type SpecState = Pick<OciState, 'ociVersion' | 'id' | 'status' | 'pid' | 'bundle' | 'annotations'>;

export function specState(state: StateFile, status: OciState['status'], pid = state.pid): SpecState {
  return { ociVersion: state.ociVersion, id: state.id, status, pid, bundle: state.bundle, annotations: state.annotations ?? {} };
}

/**
 * The state a hook of KIND gets on its stdin: the status the spec gives that point of the
 * lifecycle, and the pid as the hook sees it — the runtime's view, or the container's for hooks in
 * its namespaces.
 */
export function hookState(state: StateFile, kind: HookKind): SpecState {
  return specState(state, hookStatus[kind], inContainerHooks.includes(kind) ? (innermostPid(state.pid) ?? state.pid) : state.pid);
}

/**
 * SECCOMP_LISTENER's answer: the LISTENER of the filter of PID (the container's process, or an
 * exec'd one) goes to SECCOMP's agent with the container process state, STATE the container's.
 */
export function sendSeccompListener(seccomp: Seccomp, listener: number, pid: number, state: SpecState): void {
  const processState = { ociVersion: OCI_VERSION, fds: ['seccompFd'], pid, ...(seccomp.listenerMetadata === undefined ? {} : { metadata: seccomp.listenerMetadata }), state };
  try {
    sendFdTo(seccomp.listenerPath!, listener, JSON.stringify(processState));
  } catch (e) {
    throw new BerthError(`the seccomp agent (linux.seccomp.listenerPath) did not get the listener: ${(e as Error).message}`);
  }
}

/**
 * Run HOOKS, config.json's hooks of KIND, for the container in STATE — when there are any. Most
 * containers have none: then no hook state is worked out (for in-container hooks it reads /proc)
 * and the runner is not asked, which from a pooled worker is a round trip to the coordinator's thread.
 */
export function runHooks(ctx: OperationContext, kind: HookKind, hooks: Hook[] | undefined, state: StateFile, how: Pick<HookRun, 'inContainer' | 'fatal'> = {}): Promise<void> {
  if (!hooks?.length) return Promise.resolve();
  return ctx.hooks.run({ kind, hooks, state: hookState(state, kind), ...how });
}

export const inContainerHooks: readonly HookKind[] = ['createContainer', 'startContainer'];

/** Hooks of the create operation come after its step 2, when the spec calls a container created. */
const hookStatus: Record<HookKind, OciState['status']> = {
  prestart: 'created',
  createRuntime: 'created',
  createContainer: 'created',
  startContainer: 'created',
  poststart: 'running',
  poststop: 'stopped',
};
