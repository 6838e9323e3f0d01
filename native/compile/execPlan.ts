// Processes berth starts inside a running container: exec'd processes and the hooks that run in
// the container's namespaces. Both join the container process's namespaces through
// /proc/<pid>/ns and fork into its pid namespace. Pure.
import { step, type Plan, type PlanStep } from '../plan.js';
import type { Config, Hook, NamespaceType, Process } from '../spec/config.js';
import { cgroupJoinPlan } from './initPlan.js';
import { CLONE_FLAGS, nsPath, userNamespaceRootPlan } from './namespaces.js';
import { becomeProcessPlan, execStep, seccompPlacement, type ProcessContext } from './process.js';
import { execAffinityPlan } from './scheduling.js';

export interface ExecContext extends ProcessContext {
  /** The container's process, whose namespaces are joined. */
  pid: number;
  /** The container's cgroup directories and their version; null: it has none. */
  cgroup: { version: 1 | 2; dirs: string[] } | null;
}

// The user namespace first (it grants the rights to join the others); the mount namespace last,
// since joining it replaces the /proc the other paths are read from.
const joinOrder: NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];

/** Join every namespace the container has of its own (as PID has them), then fork into its pid namespace. */
function joinContainerPlan(config: Config, pid: number): PlanStep[] {
  const own = new Set(config.linux.namespaces.map((n) => n.type));
  return [
    ...joinOrder.filter((t) => own.has(t)).map((t) => step('SETNS', `join the container's ${t} namespace`, nsPath(pid, t), CLONE_FLAGS[t])),
    ...userNamespaceRootPlan(config),
    step('FORK', 'fork into the container’s pid namespace'),
  ];
}

/** exec: the container's cgroup and namespaces, then the process set up as the container's own program is (its seccomp profile too), without the start barrier. */
export function compileExecPlan(config: Config, process: Process, ctx: ExecContext): Plan {
  const seccomp = seccompPlacement(process, config, ctx.arch);
  const affinity = execAffinityPlan(process.execCPUAffinity);
  return [
    ...affinity.before,
    ...(ctx.cgroup ? cgroupJoinPlan(ctx.cgroup.version, ctx.cgroup.dirs) : []),
    ...affinity.after,
    ...joinContainerPlan(config, ctx.pid),
    ...becomeProcessPlan(process, config.linux, seccomp.beforeSetuid, ctx, 'exec'),
    ...seccomp.beforeReady,
    step('READY', 'report the process ready to exec'),
    ...seccomp.beforeExec,
    execStep(process),
  ];
}

/** A hook in the container's namespaces: as the runtime runs it (root, all capabilities), its path, args and env exactly. */
export function compileHookPlan(config: Config, hook: Hook, pid: number): Plan {
  const args = hook.args ?? [hook.path];
  const env = hook.env ?? [];
  return [
    ...joinContainerPlan(config, pid),
    step('LOOKUP', `find the hook ${hook.path}`, hook.path, ''),
    step('CLOSE_FDS', 'close inherited fds', 3),
    step('READY', 'report the hook ready to exec'),
    step('EXEC', `exec the hook ${hook.path}`, args.length, ...args, ...env),
  ];
}
