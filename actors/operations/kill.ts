// kill: a signal to the container's process, or with --all to every process in its cgroup.
import { cgroupPids } from '../../native/cgroups/manager.js';
import { BerthError } from '../../native/errors.js';
import { signalAll, signalProcess } from '../../native/signalling.js';
import { requireState, type OperationContext } from './context.js';

export function killContainer(ctx: OperationContext, signal: number, all: boolean): void {
  const state = requireState(ctx);
  const { cgroup, pidStartTime } = state.berth;
  if (all && cgroup) return signalAll(cgroupPids(cgroup), signal);
  if (!signalProcess(state.pid, pidStartTime, signal)) throw new BerthError('container not running', 'state');
}
