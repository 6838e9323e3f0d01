// processPlan: who the container's program runs as, with what limits and privileges, where, and
// with what — the steps after pivot_root, ending in the start barrier and exec.
import { Slot, step, type PlanStep } from '../plan.js';
import type { Config } from '../spec/config.js';
import { ConfigError } from '../spec/validate.js';
import { boundingPlan, capabilityPlan } from './capabilities.js';
import type { CompileContext } from './context.js';
import { rlimitPlan } from './rlimits.js';
import { seccompPlan } from './seccomp.js';

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
  const adj = config.process.oomScoreAdj;
  if (adj !== undefined) steps.push(step('WRITE_FILE', `set oom_score_adj ${adj}`, '/proc/self/oom_score_adj', String(adj)));
  if (config.hostname !== undefined) steps.push(step('SETHOSTNAME', `set hostname "${config.hostname}"`, config.hostname));
  if (config.domainname !== undefined) steps.push(step('SETDOMAINNAME', `set domainname "${config.domainname}"`, config.domainname));
  return steps;
}

/**
 * After pivot_root: limits, capabilities around setuid, then report ready, wait for start, exec.
 *
 * The seccomp filter binds every syscall after it, so it comes as late as the kernel allows: with
 * no_new_privs, between the start barrier and exec, leaving only execve to the profile. Without
 * it the kernel wants CAP_SYS_ADMIN, which setuid and capset are about to drop: then it comes right
 * before setuid (as runc does), and the profile must allow what follows — setresuid, capset, prctl,
 * umask, stat, access, close_range, sendto, read, close, execve.
 */
export function processPlan(config: Config, ctx: Pick<CompileContext, 'preserveFds' | 'lastCap' | 'arch'>): PlanStep[] {
  const p = config.process;
  if (p.terminal) throw new ConfigError('process.terminal', 'terminals are not supported yet');
  const { uid, gid, umask, additionalGids = [] } = p.user;
  const seccomp = seccompPlan(config, ctx.arch);
  return [
    ...rlimitPlan(config),
    ...boundingPlan(config, ctx.lastCap),
    step('CHDIR', `change to the working directory ${p.cwd}`, p.cwd),
    step('SETGROUPS', `set additional groups [${additionalGids.join(', ')}]`, ...additionalGids),
    step('SETGID', `set gid ${gid}`, gid),
    ...(p.noNewPrivileges ? [] : seccomp),
    step('SETUID', `set uid ${uid}`, uid),
    ...capabilityPlan(config, ctx.lastCap),
    step('UMASK', `set umask ${(umask ?? DEFAULT_UMASK).toString(8)}`, umask ?? DEFAULT_UMASK),
    step('LOOKUP', `find the program "${p.args[0]}" in $PATH`, p.args[0]!, searchPath(p.env)),
    ...(p.noNewPrivileges ? [step('NO_NEW_PRIVS', 'set no_new_privs')] : []),
    step('CLOSE_FDS', 'close inherited fds', 3 + ctx.preserveFds),
    step('READY', 'report the container created'),
    step('BARRIER', 'wait for start', Slot.FIFO),
    ...(p.noNewPrivileges ? seccomp : []),
    step('EXEC', `exec "${p.args[0]}"`, p.args.length, ...p.args, ...p.env),
  ];
}
