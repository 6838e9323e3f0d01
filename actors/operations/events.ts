// events and stats: a live container's resource use, every interval, and each OOM kill inside it,
// as runc's `events` reports them, until the container's process is gone. Reads only: no machine
// event, no lock, and any number of watchers run beside the container's operations.
import { setTimeout as sleep } from 'node:timers/promises';
import { hasCgroup } from '../../native/cgroups/manager.js';
import { watchOom } from '../../native/cgroups/oom.js';
import { cgroupStats, type Stats } from '../../native/cgroups/stats.js';
import { BerthError } from '../../native/errors.js';
import type { Logger } from '../log.js';
import type { RuntimeEvent } from '../messages.js';
import { processAlive, type StateFile } from '../stateStore.js';

/** How often OOM kills and the end of the container are looked for. */
const TICK_MS = 100;

/** The cgroup of a container that is not stopped (runc refuses events for a stopped one). */
function liveCgroup(state: StateFile) {
  if (state.status === 'stopped' || !processAlive(state)) throw new BerthError(`container with id ${state.id} is not running`, 'state');
  if (!hasCgroup(state.berth.cgroup)) throw new BerthError(`container ${state.id} has no cgroup of its own (a rootless berth has none on this host): no resource use to report`);
  return state.berth.cgroup;
}

export function containerStats(state: StateFile): Stats {
  return cgroupStats(liveCgroup(state));
}

export interface WatchOptions {
  intervalMs: number;
  /** Ends the watch early. */
  signal: AbortSignal;
  log: Logger;
}

/** Emit `stats` every interval and `oom` for each OOM kill until the container's process is gone. */
export async function watchContainer(state: StateFile, opts: WatchOptions, emit: (e: RuntimeEvent) => void): Promise<{ id: string; oomKills: number }> {
  const { id } = state;
  const cgroup = liveCgroup(state);
  const oom = watchOom(cgroup);
  if (!oom) opts.log.debug(`events ${id}: the container's cgroup has no memory controller to watch for OOM kills`);
  let oomKills = 0;
  const reportOoms = () => {
    for (let n = oom?.take() ?? 0; n > 0; n--, oomKills++) emit({ type: 'oom', id });
  };
  try {
    for (let due = Date.now() + opts.intervalMs; processAlive(state) && !opts.signal.aborted; await sleep(TICK_MS)) {
      reportOoms();
      if (Date.now() < due) continue;
      emit({ type: 'stats', id, data: cgroupStats(cgroup) });
      due = Date.now() + opts.intervalMs;
    }
    reportOoms(); // the kill that ended the container's process, too
  } finally {
    oom?.close();
  }
  return { id, oomKills };
}
