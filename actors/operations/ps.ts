// ps: the host pids of the container's processes (every process in its cgroup), in order.
import { cgroupPids } from '../../native/cgroups/manager.js';
import type { StateFile } from '../stateStore.js';

export function containerPids(state: StateFile): number[] {
  return state.berth.cgroup ? cgroupPids(state.berth.cgroup).sort((a, b) => a - b) : [];
}
