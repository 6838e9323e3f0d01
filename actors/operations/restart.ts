// start --restart (the seed's "starting a stopped container creates a new process in the scope of
// the container"): a new process from the stored config.json, in the namespaces stop kept and the
// same cgroup, with a fresh pid namespace and the root file system set up again. It starts at once.
import { hostLayout } from '../../native/cgroups/layout.js';
import { compileInitPlan } from '../../native/compile/initPlan.js';
import { BerthError } from '../../native/errors.js';
import { runInit } from '../../native/initProcess.js';
import { withKeptNamespaces } from '../../native/keptNamespaces.js';
import { procStat } from '../../native/procfs.js';
import type { Stdio } from '../messages.js';
import { readConfig } from '../stateStore.js';
import { requireState, type OperationContext } from './context.js';
import { compileContextOf } from './create.js';
import { checkConsole, stdioFds } from './stdio.js';
import { endProcesses } from './teardown.js';

export interface RestartRequest {
  /** The new process's stdio (this process's own when absent). */
  stdio?: Stdio;
}

export async function restartContainer(ctx: OperationContext, { stdio }: RestartRequest): Promise<void> {
  const state = requireState(ctx);
  const { cgroup, keptNamespaces = {}, noPivot } = state.berth;
  if (!cgroup) throw new BerthError(`container ${ctx.id} has no cgroup to restart in`);
  const config = withKeptNamespaces(readConfig(ctx.dir), keptNamespaces);
  checkConsole(config.process.terminal, {});
  const plan = compileInitPlan(
    config,
    compileContextOf({ bundle: state.bundle, rootfs: state.rootfs, fifo: null, preserveFds: 0, noPivot, cgroupLayout: hostLayout(cgroup.version), cgroupDirs: cgroup.paths }),
  );
  let pid = 0;
  let pidStartTime = 0;
  try {
    await runInit({ plan, parent: ctx.parent, stdio: stdioFds(stdio), onSync: () => {}, onPid: (p) => ((pid = p), (pidStartTime = procStat(p)?.startTime ?? 0)), untilExec: true });
  } catch (e) {
    // Whatever started goes again; the container stays stopped, its namespaces kept.
    await endProcesses({ ...state, pid, berth: { ...state.berth, pidStartTime } });
    if (pid) await ctx.parent.reap(pid); // a child no reaper knows of
    throw e;
  }
  ctx.state = { ...state, pid, berth: { ...state.berth, pidStartTime } }; // recorded with the state that follows
}
