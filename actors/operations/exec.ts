// exec: a new process in the container — its namespaces, cgroup, root and security — run by
// berth-init from a plan of its own. It does not hold the container's lock: execs into one
// container run in parallel, and with kill and state.
import { resolve } from 'node:path';
import { hostLayout } from '../../native/cgroups/layout.js';
import { subCgroupDirs } from '../../native/cgroups/manager.js';
import { compileExecPlan } from '../../native/compile/execPlan.js';
import { sendPidfd } from '../../native/console.js';
import { BerthError } from '../../native/errors.js';
import { runInit } from '../../native/initProcess.js';
import { SyncTag } from '../../native/plan.js';
import { lastCapability, lsmHost } from '../../native/procfs.js';
import { signalAll } from '../../native/signalling.js';
import type { Process } from '../../native/spec/config.js';
import { parseProcess } from '../../native/spec/validate.js';
import type { ExecOptions, Stdio } from '../messages.js';
import { liveStatus, readConfig, writeAtomic } from '../stateStore.js';
import { requireState, sendSeccompListener, specState, type OperationContext } from './context.js';
import { openConsole, stdioFds, type ConsoleRequest } from './stdio.js';
import { faultPoint } from '../faultPoint.js';

export interface ExecRequest extends ConsoleRequest {
  /** The whole process, already validated (the caller merged flags into the container's process). */
  process: Process;
  stdio?: Stdio;
  preserveFds?: number;
  pidFile?: string;
  /** runc's --cgroup: a cgroup below the container's to join instead (see subCgroupDirs). */
  subCgroup?: string;
  /** runc's --pidfd-socket: where the process's pidfd is sent. */
  pidfdSocket?: string;
}

export interface ExecResult {
  pid: number;
  /** The pty master, when asked back. */
  terminal?: number;
}

/**
 * The process an exec runs: a whole process given (runc's --process), or the container's own
 * changed by the message's fields. Validated as config.json's process is.
 */
export function processForExec(base: Process | undefined, opts: ExecOptions): Process {
  if (opts.process !== undefined) return parseProcess(opts.process);
  if (!base) throw new BerthError("the container's config.json has no process to base the exec'd one on: give a whole one (--process)", 'invalid');
  const env = new Map(base.env.map((e) => [e.slice(0, e.indexOf('=')), e]));
  for (const e of opts.env ?? []) env.set(e.includes('=') ? e.slice(0, e.indexOf('=')) : e, e);
  const caps = base.capabilities ?? {};
  const added = (set: string) => [...new Set([...(caps[set] ?? []), ...(opts.capabilities ?? [])])];
  return parseProcess({
    ...base,
    args: opts.args?.length ? opts.args : base.args,
    env: [...env.values()],
    cwd: opts.cwd ?? base.cwd,
    user: opts.user ? { ...base.user, ...opts.user, gid: opts.user.gid ?? base.user.gid, additionalGids: opts.user.additionalGids ?? base.user.additionalGids } : base.user,
    terminal: opts.tty ?? false,
    noNewPrivileges: opts.noNewPrivileges || base.noNewPrivileges,
    apparmorProfile: opts.apparmorProfile ?? base.apparmorProfile,
    selinuxLabel: opts.selinuxLabel ?? base.selinuxLabel,
    capabilities: opts.capabilities?.length ? { ...caps, bounding: added('bounding'), effective: added('effective'), permitted: added('permitted'), ambient: added('ambient') } : base.capabilities,
  });
}

export async function execProcess(ctx: OperationContext, req: ExecRequest): Promise<ExecResult> {
  const state = requireState(ctx);
  const { cgroup } = state.berth;
  const config = readConfig(ctx.dir);
  const plan = compileExecPlan(config, req.process, {
    pid: state.pid,
    cgroup: cgroup && { version: cgroup.version, dirs: req.subCgroup ? subCgroupDirs(cgroup, hostLayout(cgroup.version), req.subCgroup) : cgroup.paths },
    preserveFds: req.preserveFds ?? 0,
    lastCap: lastCapability(),
    arch: process.arch,
    lsm: lsmHost(),
  });
  const route = openConsole(req.process.terminal, req);
  let pid = 0;
  try {
    await runInit({
      plan,
      parent: ctx.parent,
      stdio: stdioFds(req.stdio, req.preserveFds),
      consoleFd: route.fd,
      // As runc: the exec'd process's pid, in the state of the running container.
      syncs: { [SyncTag.SECCOMP_LISTENER]: (_stage1, _sendFd, listener) => sendSeccompListener(config.linux.seccomp!, listener!, pid, specState(state, liveStatus(state, ctx.dir))) },
      onPid: (p) => (pid = p),
      untilExec: true,
    });
    faultPoint('exec.started');
    if (req.pidFile) writeAtomic(resolve(req.pidFile), String(pid));
    if (req.pidfdSocket) sendPidfd(resolve(req.pidfdSocket), pid);
    return { pid, terminal: route.receive() };
  } catch (e) {
    // A child no reaper knows of. Its exec may have happened (the pid file or the terminal failed
    // after it): it is ended first, or the reap would wait for the program's own end. Until it is
    // reaped its pid cannot name another process.
    if (pid) {
      signalAll([pid], 9);
      await ctx.parent.reap(pid);
    }
    throw e;
  } finally {
    route.close();
  }
}
