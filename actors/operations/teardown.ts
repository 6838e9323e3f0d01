// Remove a container completely: every process in it, its cgroup, its state folder. Shared by a
// failed create (undo) and delete, so both leave the same nothing behind. A container without a
// mount namespace of its own mounted into the host's, under its rootfs: those mounts go too.
import { readFileSync, rmSync } from 'node:fs';
import { cgroupPids, removeCgroup } from '../../native/cgroups/manager.js';
import { BerthError } from '../../native/errors.js';
import { signalAll, signalProcess, waitForExit, waitUntilEmpty } from '../../native/signalling.js';
import { signals } from '../../native/signals.js';
import { detachMount } from '../../native/syscalls.js';
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
  if (state.berth.hostMounts) for (const m of mountsBelow(state.rootfs)) detachMount(m);
  // A restore killed midway leaves its bind of the rootfs in the folder: never remove through it.
  for (const m of mountsBelow(dir)) detachMount(m);
  rmSync(dir, { recursive: true, force: true });
}

/** Mount points strictly below PATH in this mount namespace, deepest first. */
function mountsBelow(path: string): string[] {
  const decode = (p: string) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => decode(l.split(' ')[4] ?? ''))
    .filter((m) => m.startsWith(path + '/'))
    .sort((a, b) => b.length - a.length);
}
