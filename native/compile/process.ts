// processPlan: who the container's program runs as, with what limits and privileges, where, and
// with what — the steps after pivot_root, ending in the start barrier and exec.
import { initFd, Slot, step, type PlanStep } from '../plan.js';
import type { Config, Linux, Process } from '../spec/config.js';
import { boundingPlan, capabilityPlan } from './capabilities.js';
import { lsmExecPlan, type LsmHost } from './lsm.js';
import { rlimitPlan } from './rlimits.js';
import { memoryPolicyPlan, personalityPlan, schedulingPlan } from './scheduling.js';
import { hasListener, seccompPlan } from './seccomp.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_UMASK = 0o022;

/** The PATH the program is looked up in: the container's, never berth's. */
export function searchPath(env: string[]): string {
  const entry = env.findLast((e) => e.startsWith('PATH='));
  return entry ? entry.slice(5) : DEFAULT_PATH;
}

/** Right after fork, while the host's /proc still names the container's process as "self". */
export function earlyProcessPlan(config: Config): PlanStep[] {
  const steps: PlanStep[] = [];
  const adj = config.process?.oomScoreAdj;
  if (adj !== undefined) steps.push(step('WRITE_FILE', `set oom_score_adj ${adj}`, '/proc/self/oom_score_adj', String(adj)));
  if (config.hostname !== undefined) steps.push(step('SETHOSTNAME', `set hostname "${config.hostname}"`, config.hostname));
  if (config.domainname !== undefined) steps.push(step('SETDOMAINNAME', `set domainname "${config.domainname}"`, config.domainname));
  return steps;
}

export interface ProcessContext {
  /** fds 3..3+preserveFds-1 are handed to the program. */
  preserveFds: number;
  /** The highest capability number the running kernel knows. */
  lastCap: number;
  /** The machine's architecture as Node.js names it (process.arch): the seccomp filter's native one. */
  arch: string;
  /** Which LSMs the host has enabled. */
  lsm: LsmHost;
}

/**
 * Where the seccomp filter goes. It binds every syscall after it, so it comes as late as the kernel
 * allows: with no_new_privs, right before exec, leaving only execve to the profile. Without it the
 * kernel wants CAP_SYS_ADMIN, which setuid and capset are about to drop: then it comes right before
 * setuid (as runc does), and the profile must allow what follows — setresuid, capset, prctl, umask,
 * stat, access, sendto, read, close, execve.
 *
 * A filter with a listener (SCMP_ACT_NOTIFY) is loaded before READY in either case, as runc does:
 * berth stops listening to berth-init at READY, and the agent must have the listener by then (for
 * create, before `start`). With no_new_privs it comes right before READY, and what follows is the
 * profile's to allow (or the agent's to answer): the listener's close, the read of berth's ack,
 * sendto (READY), read and close (the start barrier), execve.
 */
export function seccompPlacement(p: Process, config: Config, arch: string): Record<'beforeSetuid' | 'beforeReady' | 'beforeExec', PlanStep[]> {
  const steps = seccompPlan(config, arch);
  if (!p.noNewPrivileges) return { beforeSetuid: steps, beforeReady: [], beforeExec: [] };
  return hasListener(config.linux.seccomp) ? { beforeSetuid: [], beforeReady: steps, beforeExec: [] } : { beforeSetuid: [], beforeReady: [], beforeExec: steps };
}

/**
 * Become the process — its terminal, limits, capabilities around setuid, user, umask — and find
 * its program. Shared by create and exec; what follows differs (the start barrier, or not).
 * BEFORE_SETUID: the seccomp filter, when it comes there (seccompPlacement).
 */
export function becomeProcessPlan(p: Process, linux: Pick<Linux, 'personality' | 'memoryPolicy'>, beforeSetuid: PlanStep[], ctx: ProcessContext, role: 'container' | 'exec'): PlanStep[] {
  const { uid, gid, umask, additionalGids = [] } = p.user;
  const size = p.consoleSize;
  return [
    // The container's own terminal is its /dev/console too (the spec's); an exec'd process's is not.
    ...(p.terminal ? [step('TERMINAL', `make a terminal${role === 'container' ? ', bind it over /dev/console' : ''} and hand its master to the console socket`, initFd.console(ctx.preserveFds), size?.height ?? 0, size?.width ?? 0, uid, gid, role === 'container' ? 1 : 0)] : []),
    // Raised (a real-time policy, an RT I/O class) while the process still has the capabilities to.
    ...schedulingPlan(p.scheduler, p.ioPriority),
    ...personalityPlan(linux.personality),
    ...memoryPolicyPlan(linux.memoryPolicy),
    ...rlimitPlan(p),
    ...boundingPlan(p, ctx.lastCap),
    step('CHDIR', `change to the working directory ${p.cwd}`, p.cwd),
    // Before a seccomp filter may be loaded: older profiles do not know close_range.
    step('CLOSE_FDS', 'close inherited fds', 3 + ctx.preserveFds),
    step('SETGROUPS', `set additional groups [${additionalGids.join(', ')}]`, ...additionalGids),
    step('SETGID', `set gid ${gid}`, gid),
    ...beforeSetuid,
    step('SETUID', `set uid ${uid}`, uid),
    ...capabilityPlan(p, ctx.lastCap),
    step('UMASK', `set umask ${(umask ?? DEFAULT_UMASK).toString(8)}`, umask ?? DEFAULT_UMASK),
    step('LOOKUP', `find the program "${p.args[0]}" in $PATH`, p.args[0]!, searchPath(p.env)),
    ...lsmExecPlan(p, ctx.lsm),
    ...(p.noNewPrivileges ? [step('NO_NEW_PRIVS', 'set no_new_privs')] : []),
  ];
}

export const execStep = (p: Process) => step('EXEC', `exec "${p.args[0]}"`, p.args.length, ...p.args, ...p.env);

/**
 * The container's process: become it, report ready, wait for `start` (unless it starts at once),
 * exec. Without one (config.md's process is OPTIONAL) the container waits at the barrier, which
 * start, refusing, never opens.
 */
export function processPlan(config: Config, ctx: ProcessContext, barrier: boolean): PlanStep[] {
  const p = config.process;
  const created = [step('READY', 'report the container created'), ...(barrier ? [step('BARRIER', 'wait for start', Slot.FIFO)] : [])];
  if (!p) return created;
  const seccomp = seccompPlacement(p, config, ctx.arch);
  return [...becomeProcessPlan(p, config.linux, seccomp.beforeSetuid, ctx, 'container'), ...seccomp.beforeReady, ...created, ...seccomp.beforeExec, execStep(p)];
}
