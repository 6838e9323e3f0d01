// The end of a container's processes and of the container. teardown removes it completely — every
// process, its cgroup, kept namespaces, its state folder — for a failed create (undo) and delete
// alike, so both leave the same nothing behind. stop uses the process part, gently first.
// A container without a mount namespace of its own mounted into the host's, under its rootfs:
// those mounts go with its processes.
import { readFileSync } from 'node:fs';
import { thaw } from '../../native/cgroups/freezer.js';
import { cgroupPids, removeCgroup } from '../../native/cgroups/manager.js';
import { BerthError } from '../../native/errors.js';
import { releaseNamespaces } from '../../native/keptNamespaces.js';
import { signalAll, signalProcess, waitForExit, waitUntilEmpty } from '../../native/signalling.js';
import { signals } from '../../native/signals.js';
import { mountsBelow } from '../../native/mountTable.js';
import { detachMount } from '../../native/syscalls.js';
import { processAlive, removeContainerDir, type StateFile } from '../stateStore.js';
import { procStat } from '../../native/procfs.js';
import { faultPoint } from '../faultPoint.js';
import type { OperationContext } from './context.js';

const KILL_GRACE_MS = 10_000;

/**
 * Signal every process of the container: its own (through a pidfd, pid reuse cannot fool it) and its
 * cgroup's. False when there was none to signal: then there is nothing to wait for either.
 */
function signalContainer(state: StateFile, signal: number): boolean {
  const { cgroup } = state.berth;
  const own = state.pid > 0 && signalProcess(state.pid, state.berth.pidStartTime, signal);
  if (!cgroup) return own;
  const pids = cgroupPids(cgroup);
  signalAll(pids, signal);
  // A paused container's tasks see a signal only once thawed; signalled first, a SIGKILLed one
  // runs no user code after.
  thaw(cgroup);
  return own || pids.length > 0;
}

/** True once every process of the container is gone, false after MS. */
async function allGone(state: StateFile, ms: number): Promise<boolean> {
  const { pid, berth } = state;
  const deadline = Date.now() + ms;
  if (pid > 0 && !(await waitForExit(pid, berth.pidStartTime, ms))) return false;
  return !berth.cgroup || waitUntilEmpty(() => cgroupPids(berth.cgroup!), Math.max(0, deadline - Date.now()));
}

/**
 * End every process of the container: with a TERM_GRACE, SIGTERM first and that long for them to
 * go; then SIGKILL to whatever remains.
 */
export async function endProcesses(state: StateFile, termGraceMs = 0): Promise<void> {
  if (termGraceMs > 0) {
    if (!signalContainer(state, signals.SIGTERM!) || (await allGone(state, termGraceMs))) return detachHostMounts(state);
  }
  // Most deletes come after the container's process exited: nothing left, nothing to wait for.
  if (signalContainer(state, signals.SIGKILL!) && !(await allGone(state, KILL_GRACE_MS))) throw new BerthError(`the processes of container ${state.id} did not die after SIGKILL: ${survivors(state)}`);
  detachHostMounts(state);
}

/** The container's processes still there, with the kernel's state and wait channel of each (an uninterruptible sleep outlasts SIGKILL). */
function survivors(state: StateFile): string {
  const pids = new Set([...(state.pid > 0 && processAlive(state) ? [state.pid] : []), ...(state.berth.cgroup ? cgroupPids(state.berth.cgroup) : [])]);
  const describe = (pid: number) => {
    try {
      return `${pid} (${procStat(pid)?.state ?? '?'} in ${readFileSync(`/proc/${pid}/wchan`, 'utf8') || '-'})`;
    } catch {
      return `${pid} (gone)`;
    }
  };
  return [...pids].map(describe).join(', ') || 'none any more';
}

export async function teardown(ctx: OperationContext, state: StateFile): Promise<void> {
  const { dir } = ctx;
  await endProcesses(state);
  faultPoint('teardown.ended');
  if (state.berth.cgroup) await removeCgroup(state.berth.cgroup, ctx.alone());
  faultPoint('teardown.cgroup');
  releaseNamespaces(state.berth.keptNamespaces ?? {});
  // A restore killed midway leaves its bind of the rootfs in the folder: never remove through it.
  for (const m of mountsBelow(dir)) detachMount(m);
  removeContainerDir(dir);
}

function detachHostMounts(state: StateFile): void {
  if (state.berth.hostMounts) for (const m of mountsBelow(state.rootfs)) detachMount(m);
}
