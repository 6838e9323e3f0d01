// compileExecPlan: a new process in a running container — its cgroup, every namespace it has of its
// own (joined through the container process's /proc/<pid>/ns), its root — then the same process
// set-up as the container's own program (its seccomp profile too), without the start barrier. Pure.
import { step, type Plan } from '../plan.js';
import type { Config, NamespaceType, Process } from '../spec/config.js';
import { CLONE_FLAGS, nsFile } from './namespaces.js';
import { becomeProcessPlan, execStep, lateSeccomp, type ProcessContext } from './process.js';
import { seccompPlan } from './seccomp.js';

export interface ExecContext extends ProcessContext {
  /** The container's process, whose namespaces are joined. */
  pid: number;
  /** The container's cgroup directories. */
  cgroupDirs: string[];
}

// The user namespace first (it grants the rights to join the others); the mount namespace last,
// since joining it replaces the /proc the other paths are read from.
const joinOrder: NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];

export function compileExecPlan(config: Config, process: Process, ctx: ExecContext): Plan {
  const own = new Set(config.linux.namespaces.map((n) => n.type));
  // The container's seccomp profile binds its exec'd processes too.
  const seccomp = seccompPlan(config, ctx.arch);
  const joins = joinOrder.filter((t) => own.has(t)).map((t) => step('SETNS', `join the container's ${t} namespace`, `/proc/${ctx.pid}/ns/${nsFile[t]}`, CLONE_FLAGS[t]));
  return [
    ...ctx.cgroupDirs.map((dir) => step('WRITE_FILE', `join the cgroup ${dir}`, `${dir}/cgroup.procs`, '0')),
    ...joins,
    ...(own.has('user') ? [step('SETGID', 'become gid 0 of the user namespace', 0), step('SETUID', 'become uid 0 of the user namespace', 0)] : []),
    step('FORK', 'fork the process (in the container’s pid namespace)'),
    ...becomeProcessPlan(process, seccomp, ctx),
    step('READY', 'report the process ready to exec'),
    ...lateSeccomp(process, seccomp),
    execStep(process),
  ];
}
