// compileInitPlan: the whole plan, in the order the kernel needs it. Pure.
//
//   stage 1 (a child of berth, in the host's namespaces)
//     open the start fifo · join the cgroup · join / create namespaces
//     fork: the child is the container's process (pid 1 of a new pid namespace)
//   the container's process
//     set up the root file system and /dev · pivot_root · sysctls, read-only and masked paths
//     limits, capabilities, the user · report ready · wait for `start` · seccomp · exec the program
//     (a seccomp filter with a listener comes before ready: see seccompPlacement)
import { Slot, step, SyncTag, type Plan } from '../plan.js';
import type { Config } from '../spec/config.js';
import { selfJoinFile } from '../cgroups/layout.js';
import { O_RDWR, type CompileContext } from './context.js';
import { devicePlan } from './devices.js';
import { enterRootPlan, finalRootPlan, idmappedBinds, mountPlan, rootfsPlan } from './mounts.js';
import { namespacePlan, netDevicesPlan, userNamespaceRootPlan } from './namespaces.js';
import { earlyProcessPlan, processPlan } from './process.js';
import { sysctlPlan } from './sysctl.js';

const idmappedSync = (config: Config, bundle: string) => {
  const count = idmappedBinds(config, bundle).length;
  return count ? [step('SYNC', `have the ${count} idmapped bind${count > 1 ? 's' : ''} made and handed over`, SyncTag.IDMAPPED_MOUNTS, count)] : [];
};

const hasCreateHooks = (config: Config) => (['prestart', 'createRuntime', 'createContainer'] as const).some((k) => config.hooks?.[k]?.length);

/** Join the cgroup DIRS of VERSION: writing 0 moves the writer, and its children inherit it. */
export const cgroupJoinPlan = (version: 1 | 2, dirs: string[]): Plan => dirs.map((dir) => step('WRITE_FILE', `join the cgroup ${dir}`, `${dir}/${selfJoinFile(version)}`, '0'));

export function compileInitPlan(config: Config, ctx: CompileContext): Plan {
  return [
    // O_RDWR: the open does not wait for a writer, and the read at the barrier blocks until `start` writes.
    ...(ctx.fifo ? [step('OPEN', `open the start fifo ${ctx.fifo}`, Slot.FIFO, ctx.fifo, O_RDWR)] : []),
    // The cgroup namespace, created next, is rooted at the cgroup the process is in: join it first.
    ...cgroupJoinPlan(ctx.cgroupLayout.version, ctx.cgroupDirs),
    ...namespacePlan(config),
    // In the container's user namespace now: berth makes the idmapped binds and hands them over.
    ...idmappedSync(config, ctx.bundle),
    ...netDevicesPlan(config, ctx.rootless),
    step('FORK', 'fork the container process'),
    // Devices and directories get exactly the modes config.json asks for.
    step('UMASK', 'clear the umask', 0),
    ...earlyProcessPlan(config),
    ...rootfsPlan(config, ctx),
    ...userNamespaceRootPlan(config),
    ...mountPlan(config, ctx),
    ...devicePlan(config, ctx.rootless),
    ...(config.process ? [step('MKDIR', `create the working directory ${config.process.cwd}`, config.process.cwd, 0o755)] : []),
    // prestart, createRuntime and createContainer hooks run here: namespaces and mounts made, before pivot_root.
    ...(hasCreateHooks(config) ? [step('SYNC', 'have the prestart, createRuntime and createContainer hooks run', SyncTag.CREATE_HOOKS)] : []),
    ...enterRootPlan(config, ctx),
    // sysctls go through /proc/sys before readonlyPaths may make it read-only.
    ...sysctlPlan(config),
    ...finalRootPlan(config),
    ...processPlan(config, ctx, ctx.fifo !== null),
  ];
}
