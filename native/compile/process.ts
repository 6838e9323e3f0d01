// processPlan: who the container's program runs as, where, and with what — the steps after pivot_root.
import { Slot, step, type PlanStep } from '../plan.js';
import type { Config } from '../spec/config.js';
import { ConfigError } from '../spec/validate.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_UMASK = 0o022;

/** The PATH the program is looked up in: the container's, never berth's. */
export function searchPath(env: string[]): string {
  const entry = env.findLast((e) => e.startsWith('PATH='));
  return entry ? entry.slice(5) : DEFAULT_PATH;
}

export function identityPlan(config: Config): PlanStep[] {
  const steps: PlanStep[] = [];
  if (config.hostname !== undefined) steps.push(step('SETHOSTNAME', `set hostname "${config.hostname}"`, config.hostname));
  if (config.domainname !== undefined) steps.push(step('SETDOMAINNAME', `set domainname "${config.domainname}"`, config.domainname));
  return steps;
}

/** After pivot_root: become the configured user, find the program, report ready, wait for start, exec. */
export function processPlan(config: Config, preserveFds: number): PlanStep[] {
  const p = config.process;
  if (p.terminal) throw new ConfigError('process.terminal', 'terminals are not supported yet');
  const { uid, gid, umask, additionalGids = [] } = p.user;
  return [
    step('CHDIR', `change to the working directory ${p.cwd}`, p.cwd),
    step('SETGROUPS', `set additional groups [${additionalGids.join(', ')}]`, ...additionalGids),
    step('SETGID', `set gid ${gid}`, gid),
    step('SETUID', `set uid ${uid}`, uid),
    step('UMASK', `set umask ${(umask ?? DEFAULT_UMASK).toString(8)}`, umask ?? DEFAULT_UMASK),
    step('LOOKUP', `find the program "${p.args[0]}" in $PATH`, p.args[0]!, searchPath(p.env)),
    step('CLOSE_FDS', 'close inherited fds', 3 + preserveFds),
    step('READY', 'report the container created'),
    step('BARRIER', 'wait for start', Slot.FIFO),
    step('EXEC', `exec "${p.args[0]}"`, p.args.length, ...p.args, ...p.env),
  ];
}
