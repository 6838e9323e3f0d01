// kill: a signal to the container's process, or with --all to every process in its cgroup (a
// stopped container's too: its process is gone, but not always its children, as runc and crun do).
// In a paused container a signal waits for resume, as in runc — except SIGKILL: frozen v1 tasks do
// not die until thawed, so the cgroup is thawed after it (the killed processes run no user code).
import { thaw } from '../../native/cgroups/freezer.js';
import { cgroupPids } from '../../native/cgroups/manager.js';
import { BerthError } from '../../native/errors.js';
import { signalAll, signalProcess } from '../../native/signalling.js';
import { signals } from '../../native/signals.js';
import { requireState, type OperationContext } from './context.js';

export interface KillRequest {
  signal: number;
  /** Every process in the container's cgroup, not only its own. */
  all: boolean;
}

export function killContainer(ctx: OperationContext, { signal, all }: KillRequest): void {
  const state = requireState(ctx);
  const { cgroup, pidStartTime } = state.berth;
  if (all && cgroup) signalAll(cgroupPids(cgroup), signal);
  // --all without a cgroup has only the process to signal; gone, there is nothing to do (runc's answer).
  else if (!signalProcess(state.pid, pidStartTime, signal) && !all) throw new BerthError('container not running', 'state');
  if (signal === signals.SIGKILL && state.status === 'paused' && cgroup) thaw(cgroup);
}
