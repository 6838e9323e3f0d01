// Remove a container completely: every process in it, its cgroup, its state folder. Shared by a
// failed create (undo) and delete, so both leave the same nothing behind.
import { rmSync } from 'node:fs';
import { cgroupPids, removeCgroup } from '../../native/cgroups/manager.js';
import { BerthError } from '../../native/errors.js';
import { signalAll, signalProcess, waitForExit, waitUntilEmpty } from '../../native/signalling.js';
import { signals } from '../../native/signals.js';
import type { StateFile } from '../stateStore.js';

const GRACE_MS = 10_000;

export async function teardown(dir: string, state: StateFile): Promise<void> {
  const { pid } = state;
  const { pidStartTime, cgroup } = state.berth;
  if (pid > 0) signalProcess(pid, pidStartTime, signals.SIGKILL!);
  if (cgroup) signalAll(cgroupPids(cgroup), signals.SIGKILL!);
  if (pid > 0) {
    if (!(await waitForExit(pid, pidStartTime, GRACE_MS))) throw new BerthError(`container process ${pid} did not die after SIGKILL`);
  }
  if (cgroup) {
    if (!(await waitUntilEmpty(() => cgroupPids(cgroup), GRACE_MS))) throw new BerthError(`processes of cgroup ${cgroup.paths[0]} did not die after SIGKILL`);
    await removeCgroup(cgroup);
  }
  rmSync(dir, { recursive: true, force: true });
}
