// ps: the host pids of the container's processes (every process in its cgroup), in order.
import { cgroupPids, hasCgroup } from '../../native/cgroups/manager.js';
import { BerthError } from '../../native/errors.js';
import type { StateFile } from '../stateStore.js';

export function containerPids(state: StateFile): number[] {
  if (!hasCgroup(state.berth.cgroup)) throw new BerthError(`container ${state.id} has no cgroup of its own (a rootless berth has none on this host): its processes cannot be listed`);
  return cgroupPids(state.berth.cgroup).sort((a, b) => a - b);
}
