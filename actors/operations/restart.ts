// start --restart (the seed's "starting a stopped container creates a new process in the scope of
// the container"): a new process from the stored config.json, in the namespaces stop kept and the
// same cgroup, with a fresh pid namespace and the root file system set up again. It starts at once,
// through the same barrier as a create and start, so the hooks of the new process run as theirs do.
import { hostLayout } from '../../native/cgroups/layout.js';
import { compileInitPlan } from '../../native/compile/initPlan.js';
import { BerthError } from '../../native/errors.js';
import { idmappedBinds } from '../../native/compile/mounts.js';
import { sendIdmappedBinds } from '../../native/idmappedBinds.js';
import { runInit } from '../../native/initProcess.js';
import { withKeptNamespaces } from '../../native/keptNamespaces.js';
import { SyncTag } from '../../native/plan.js';
import { procStat } from '../../native/procfs.js';
import type { Stdio } from '../messages.js';
import { fifoPath, makeStartFifo, readConfig, retireStartFifo, type StateFile } from '../stateStore.js';
import { requireState, runHooks, sendSeccompListener, specState, type OperationContext } from './context.js';
import { compileContextOf } from './create.js';
import { checkConsole, stdioFds } from './stdio.js';
import { releaseProcess, requireProcess } from './start.js';
import { endProcesses } from './teardown.js';

export interface RestartRequest {
  /** The new process's stdio (this process's own when absent). */
  stdio?: Stdio;
}

export async function restartContainer(ctx: OperationContext, { stdio }: RestartRequest): Promise<void> {
  const state = requireState(ctx);
  const { cgroup, keptNamespaces = {}, noPivot } = state.berth;
  if (!cgroup) throw new BerthError(`container ${ctx.id} has no cgroup to restart in`);
  const config = withKeptNamespaces(requireProcess(readConfig(ctx.dir)), keptNamespaces);
  checkConsole(config.process?.terminal ?? false, {});
  const fifo = fifoPath(ctx.dir);
  const plan = compileInitPlan(
    config,
    compileContextOf({ bundle: state.bundle, rootfs: state.rootfs, fifo, preserveFds: 0, noPivot, cgroupLayout: hostLayout(cgroup.version), cgroupDirs: cgroup.paths }),
  );
  const next: StateFile = { ...state, pid: 0, berth: { ...state.berth, pidStartTime: 0 } };
  makeStartFifo(ctx.dir);
  try {
    // The kept namespaces were set up by the first create's prestart and createRuntime hooks: those
    // do not run again. What concerns the new process does: createContainer, then start's hooks.
    await runInit({
      plan,
      parent: ctx.parent,
      stdio: stdioFds(stdio),
      syncs: {
        [SyncTag.CREATE_HOOKS]: () => runHooks(ctx, 'createContainer', config.hooks?.createContainer, next, { inContainer: { pid: next.pid, config } }),
        [SyncTag.IDMAPPED_MOUNTS]: (stage1, sendFd) => sendIdmappedBinds(idmappedBinds(config, state.bundle), stage1, sendFd),
        // A new container process, through the same barrier as a create's.
        [SyncTag.SECCOMP_LISTENER]: (_stage1, _sendFd, listener) => sendSeccompListener(config.linux.seccomp!, listener!, next.pid, specState(next, 'creating')),
      },
      onPid: (p) => ((next.pid = p), (next.berth.pidStartTime = procStat(p)?.startTime ?? 0)),
    });
    await releaseProcess(ctx, next, config);
  } catch (e) {
    // Whatever started goes again; the container stays stopped, its namespaces kept.
    await endProcesses(next);
    if (next.pid) await ctx.parent.reap(next.pid); // a child no reaper knows of
    retireStartFifo(ctx.dir);
    throw e;
  }
  ctx.state = next; // recorded with the state that follows
}
