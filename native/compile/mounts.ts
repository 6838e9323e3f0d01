// mountPlan: config.json `mounts` (and the root file system's own set-up) as init plan steps.
import { basename, isAbsolute, join, posix } from 'node:path';
import { Resolve, Slot, step, type PlanStep } from '../plan.js';
import type { Config, Mount } from '../spec/config.js';
import { ConfigError } from '../spec/validate.js';
import { O_DIRECTORY, O_PATH, type CompileContext } from './context.js';
import { MS, parseMountOptions, propagationOptions } from './mountFlags.js';

/** Flags a bind remount can change; anything else in a bind's options is meaningless. */
const BIND_REMOUNTABLE = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW;

const propagate = (target: string, flags: number[], what: string): PlanStep[] =>
  flags.map((p) => step('MOUNT', `set propagation of ${what}`, '', target, '', p, '', Resolve.EXISTING));

/**
 * Before any mount: make the container's mount namespace stop sending events to the host, make the
 * rootfs a mount point of its own, and keep an fd on it through which every later path is resolved.
 */
export function rootfsPlan(config: Config, ctx: CompileContext): PlanStep[] {
  const propagation = propagationOptions[config.linux.rootfsPropagation ?? 'rprivate']!;
  return [
    step('MOUNT', `set propagation of / to ${config.linux.rootfsPropagation ?? 'rprivate'} in the container's mount namespace`, '', '/', '', MS.REC | propagation, '', Resolve.ABSOLUTE),
    step('MOUNT', `bind the root file system ${ctx.rootfs} onto itself`, ctx.rootfs, ctx.rootfs, '', MS.BIND | MS.REC, '', Resolve.ABSOLUTE),
    step('OPEN', `open the root file system ${ctx.rootfs}`, Slot.ROOT, ctx.rootfs, O_PATH | O_DIRECTORY),
  ];
}

function isBind(m: Mount): boolean {
  return m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
}

function bindPlan(m: Mount, i: number, ctx: CompileContext): PlanStep[] {
  if (!m.source) throw new ConfigError(`mounts[${i}].source`, 'is required for a bind mount');
  const source = isAbsolute(m.source) ? m.source : join(ctx.bundle, m.source);
  const kind = ctx.sourceKind(source);
  if (!kind) throw new ConfigError(`mounts[${i}].source`, `"${source}" does not exist`);
  const { flags, propagation, data } = parseMountOptions(m.options);
  if (data.length) throw new ConfigError(`mounts[${i}].options`, `unknown option "${data[0]}" for a bind mount`);
  const dest = m.destination;
  const what = `bind ${source} on ${dest}`;
  const steps = [step('MOUNT', what, source, dest, '', MS.BIND | (flags & MS.REC), '', kind === 'dir' ? Resolve.DIR : Resolve.FILE)];
  const remount = flags & BIND_REMOUNTABLE;
  if (remount) steps.push(step('MOUNT', `remount ${dest} (${m.options.join(',')})`, '', dest, '', MS.BIND | MS.REMOUNT | remount, '', Resolve.EXISTING));
  return [...steps, ...propagate(dest, propagation, dest)];
}

/**
 * `cgroup` mounts: with a cgroup namespace, the container mounts its own view of each hierarchy;
 * without one, its own cgroup directories are bound in (a fresh mount would show the whole host).
 */
function cgroupPlan(m: Mount, config: Config, ctx: CompileContext): PlanStep[] {
  const { flags, propagation } = parseMountOptions(m.options);
  const ownNamespace = config.linux.namespaces.some((n) => n.type === 'cgroup' && !n.path);
  const dest = m.destination;
  const mountFlags = flags & ~MS.RDONLY;
  const readOnly = flags & MS.RDONLY ? [step('MOUNT', `remount ${dest} read-only`, '', dest, '', MS.BIND | MS.REMOUNT | flags, '', Resolve.EXISTING)] : [];
  if (ctx.cgroupLayout.version === 2) {
    const steps = ownNamespace
      ? [step('MOUNT', `mount cgroup2 on ${dest}`, 'cgroup2', dest, 'cgroup2', flags, '', Resolve.DIR)]
      : [step('MOUNT', `bind ${ctx.cgroupDirs[0]} on ${dest}`, ctx.cgroupDirs[0]!, dest, '', MS.BIND, '', Resolve.DIR), ...readOnly];
    return [...steps, ...propagate(dest, propagation, dest)];
  }
  const steps = [step('MOUNT', `mount tmpfs for cgroups on ${dest}`, 'tmpfs', dest, 'tmpfs', mountFlags, 'mode=755', Resolve.DIR)];
  ctx.cgroupLayout.v1.forEach((h, i) => {
    const sub = posix.join(dest, basename(h.mountPoint));
    steps.push(
      ownNamespace
        ? step('MOUNT', `mount cgroup ${h.controllers.join(',')} on ${sub}`, 'cgroup', sub, 'cgroup', flags, h.controllers.join(','), Resolve.DIR)
        : step('MOUNT', `bind ${ctx.cgroupDirs[i]} on ${sub}`, ctx.cgroupDirs[i]!, sub, '', MS.BIND, '', Resolve.DIR),
    );
    if (!ownNamespace && flags & MS.RDONLY) steps.push(step('MOUNT', `remount ${sub} read-only`, '', sub, '', MS.BIND | MS.REMOUNT | flags, '', Resolve.EXISTING));
  });
  return [...steps, ...readOnly, ...propagate(dest, propagation, dest)];
}

export function mountPlan(config: Config, ctx: CompileContext): PlanStep[] {
  return config.mounts.flatMap((m, i) => {
    if (isBind(m)) return bindPlan(m, i, ctx);
    if (!m.type) throw new ConfigError(`mounts[${i}].type`, 'is required unless the mount is a bind mount');
    if (m.type === 'cgroup') return cgroupPlan(m, config, ctx);
    const { flags, propagation, data } = parseMountOptions(m.options);
    const dest = m.destination;
    return [
      step('MOUNT', `mount ${m.type} on ${dest}`, m.source ?? m.type, dest, m.type, flags, data.join(','), Resolve.DIR),
      ...propagate(dest, propagation, dest),
    ];
  });
}

/** True when config.json binds the host's /dev over the container's: then berth creates no devices. */
export function bindsDev(config: Config): boolean {
  return config.mounts.some((m) => posix.normalize(m.destination) === '/dev' && isBind(m));
}

/** The root's own flags after pivot_root: read-only if asked. */
export function readonlyRootPlan(config: Config): PlanStep[] {
  return config.root.readonly ? [step('MOUNT', 'remount / read-only', '', '/', '', MS.BIND | MS.REMOUNT | MS.RDONLY, '', Resolve.ABSOLUTE)] : [];
}
