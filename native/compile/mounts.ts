// mountPlan: config.json `mounts` (and the root file system's own set-up) as init plan steps.
import { basename, isAbsolute, join, posix } from 'node:path';
import { IDMAPPED_SLOTS, Resolve, Slot, step, type PlanStep } from '../plan.js';
import type { Config, IdMapping, Mount } from '../spec/config.js';
import { ConfigError } from '../spec/validate.js';
import { O_DIRECTORY, O_PATH, type CompileContext } from './context.js';
import { mountData } from './lsm.js';
import { MountOptionError, MS, parseMountOptions, propagationOptions, type ParsedOptions } from './mountFlags.js';
import { hasNamespace, hasNewNamespace } from './namespaces.js';

/** Flags a bind remount can change; anything else in a bind's options is meaningless. */
const BIND_REMOUNTABLE = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW;

const propagate = (target: string, flags: number[], what: string): PlanStep[] =>
  flags.map((p) => step('MOUNT', `set propagation of ${what}`, '', target, '', p, '', Resolve.EXISTING));

/** True when the container has a mount namespace of its own (new, or joined by path). */
export function ownMountNamespace(config: Config): boolean {
  return config.linux.namespaces.some((n) => n.type === 'mount');
}

/**
 * Before any mount: stop the container's mount namespace from sending events to the host (or set
 * the configured propagation), make sure the rootfs's parent mount is not shared (pivot_root needs
 * that, and a bind under a shared parent would leak), make the rootfs a mount point of its own, and
 * keep an fd on it through which every later path is resolved. Without a mount namespace of its own
 * the container lives in the host's: then nothing of the host's propagation is touched.
 */
/** Keep an fd on the root file system ROOT, through which every later path is resolved. */
const openRoot = (root: string) => step('OPEN', `open the root file system ${root}`, Slot.ROOT, root, O_PATH | O_DIRECTORY);

export function rootfsPlan(config: Config, ctx: CompileContext): PlanStep[] {
  const open = openRoot(ctx.rootfs);
  if (!ownMountNamespace(config)) return [open];
  const name = config.linux.rootfsPropagation ?? 'rprivate';
  const propagation = propagationOptions[name]!;
  const parent = propagation & MS.SLAVE ? MS.SLAVE : MS.PRIVATE;
  // Masks bind a null device: the container's /dev/null only when it is one (no symlink, char 1:3),
  // else a clone of the host's, kept while / is still the host's.
  const keepNull = config.linux.maskedPaths?.length ? [step('KEEP_NULL', "keep a clone of the host's /dev/null for the masked paths", Slot.NULL)] : [];
  return [
    step('MOUNT', `set propagation of / to ${name} in the container's mount namespace`, '', '/', '', propagation, '', Resolve.ABSOLUTE),
    ...keepNull,
    step('PROPAGATE_PARENT', `make the mount under ${ctx.rootfs} ${parent === MS.SLAVE ? 'slave' : 'private'}`, ctx.rootfs, parent),
    step('MOUNT', `bind the root file system ${ctx.rootfs} onto itself`, ctx.rootfs, ctx.rootfs, '', MS.BIND | MS.REC, '', Resolve.ABSOLUTE),
    open,
  ];
}

/** Into the root: pivot_root with a mount namespace, MS_MOVE for --no-pivot, a plain chroot without one. */
export function enterRootPlan(config: Config, ctx: CompileContext): PlanStep[] {
  if (!ownMountNamespace(config)) return [step('CHROOT', 'chroot into the root file system (no mount namespace of its own)')];
  const enter = ctx.noPivot ? step('MOVE_ROOT', 'move the root file system to / and chroot') : step('PIVOT_ROOT', 'pivot_root into the root file system');
  // shared and unbindable are set on the new / only now: set earlier they would reach the host's mounts.
  const name = config.linux.rootfsPropagation;
  const late = name && !(propagationOptions[name]! & (MS.PRIVATE | MS.SLAVE));
  return late ? [enter, step('MOUNT', `set propagation of / to ${name}`, '', '/', '', propagationOptions[name]!, '', Resolve.ABSOLUTE)] : [enter];
}

/** The options of mounts[I], or a ConfigError naming the word berth will not pass on. */
function optionsOf(m: Mount, i: number, type?: string): ParsedOptions {
  try {
    return parseMountOptions(m.options, type);
  } catch (e) {
    if (e instanceof MountOptionError) throw new ConfigError(`mounts[${i}].options[${e.index}]`, e.message);
    throw e;
  }
}

/** The recursive attributes (rro, rnosuid, …) on DEST and every mount below it, after it is mounted. */
function recursivePlan(dest: string, { recursive }: ParsedOptions): PlanStep[] {
  if (!recursive.set && !recursive.clear) return [];
  return [step('MOUNT_SETATTR', `set recursive mount attributes on ${dest}`, dest, Resolve.EXISTING, recursive.set, recursive.clear, 1)];
}

/** A bind mount's source on the host: relative ones are the bundle's. */
export function bindSource(m: Mount, bundle: string): string {
  return isAbsolute(m.source!) ? m.source! : join(bundle, m.source!);
}

export function isBind(m: Mount): boolean {
  return m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
}

/** An idmapped bind, made by berth (the parent: it has the host's privileges) and attached by berth-init. */
export interface IdmappedBind {
  /** Its index in config.json's mounts. */
  index: number;
  source: string;
  /** ridmap: the mounts below the source too. */
  recursive: boolean;
  /** The mount's own mappings; the container's user namespace when absent. */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

/** config.json's idmapped binds (idmap or ridmap among a bind's options, or mappings of its own), in order. */
export function idmappedBinds(config: Config, bundle: string): IdmappedBind[] {
  const binds = config.mounts.flatMap((m, index) => {
    if (!isBind(m)) {
      if (m.uidMappings) throw new ConfigError(`mounts[${index}].uidMappings`, 'is for bind mounts only');
      return [];
    }
    const { idmap } = optionsOf(m, index);
    if (!idmap && !m.uidMappings) return [];
    if (!m.uidMappings && !hasNamespace(config, 'user')) throw new ConfigError(`mounts[${index}].options`, `${idmap} needs mappings: the mount's uidMappings and gidMappings, or a user namespace's`);
    return [{ index, source: bindSource(m, bundle), recursive: idmap === 'ridmap', uidMappings: m.uidMappings, gidMappings: m.gidMappings }];
  });
  if (binds.length > IDMAPPED_SLOTS) throw new ConfigError(`mounts[${binds[IDMAPPED_SLOTS]!.index}]`, `is idmapped bind number ${IDMAPPED_SLOTS + 1}: berth makes at most ${IDMAPPED_SLOTS}`);
  return binds;
}

function bindPlan(m: Mount, i: number, ctx: CompileContext, idmappedSlot: number | null): PlanStep[] {
  if (!m.source) throw new ConfigError(`mounts[${i}].source`, 'is required for a bind mount');
  const source = bindSource(m, ctx.bundle);
  const kind = ctx.sourceKind(source);
  if (!kind) throw new ConfigError(`mounts[${i}].source`, `"${source}" does not exist`);
  const options = optionsOf(m, i);
  const { flags, propagation } = options;
  const dest = m.destination;
  const resolve = kind === 'dir' ? Resolve.DIR : Resolve.FILE;
  const steps =
    idmappedSlot === null
      ? [step('MOUNT', `bind ${source} on ${dest}`, source, dest, '', MS.BIND | (flags & MS.REC), '', resolve)]
      : [step('MOVE_MOUNT', `attach the idmapped bind of ${source} on ${dest}`, idmappedSlot, dest, resolve)];
  const remount = flags & BIND_REMOUNTABLE;
  if (remount) steps.push(step('MOUNT', `remount ${dest} (${m.options.join(',')})`, '', dest, '', MS.BIND | MS.REMOUNT | remount, '', Resolve.EXISTING));
  return [...steps, ...recursivePlan(dest, options), ...propagate(dest, propagation, dest)];
}

/**
 * `cgroup` mounts: with a cgroup namespace, the container mounts its own view of each hierarchy;
 * without one, its own cgroup directories are bound in (a fresh mount would show the whole host).
 */
function cgroupPlan(m: Mount, i: number, config: Config, ctx: CompileContext): PlanStep[] {
  const { flags, propagation } = optionsOf(m, i, 'cgroup');
  // No cgroup of its own (rootless, or --cgroup-manager disabled): the host's tree, read-only, as crun and runc give.
  if (!ctx.cgroupDirs.length)
    return [
      step('MOUNT', `bind the host's /sys/fs/cgroup on ${m.destination}`, '/sys/fs/cgroup', m.destination, '', MS.BIND | MS.REC, '', Resolve.DIR),
      step('MOUNT', `remount ${m.destination} read-only`, '', m.destination, '', MS.BIND | MS.REMOUNT | MS.RDONLY | (flags & ~MS.RDONLY), '', Resolve.EXISTING),
      ...propagate(m.destination, propagation, m.destination),
    ];
  const ownNamespace = hasNewNamespace(config, 'cgroup');
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

/**
 * Files below /proc a mount may cover: those LXCFS serves (as runc allows). Anything else there —
 * or anything but a procfs at /proc — could take the place of a file berth writes or the kernel's
 * LSM reads (runc's CVE-2019-16884 and CVE-2023-27561).
 */
const procFilesCoverable = new Set(['cpuinfo', 'diskstats', 'meminfo', 'stat', 'swaps', 'uptime', 'loadavg', 'slabinfo', 'net/dev', 'sys/kernel/ns_last_pid']);

function checkProcMount(m: Mount, i: number): void {
  const dest = posix.normalize(`/${m.destination}`).replace(/(.)\/$/, '$1');
  if (dest === '/proc' && (isBind(m) || m.type !== 'proc')) throw new ConfigError(`mounts[${i}].destination`, 'is /proc: only a proc mount may go there');
  if (dest.startsWith('/proc/') && !procFilesCoverable.has(dest.slice('/proc/'.length))) throw new ConfigError(`mounts[${i}].destination`, `is inside /proc: only ${[...procFilesCoverable].map((f) => `/proc/${f}`).join(', ')} may be covered`);
}

export function mountPlan(config: Config, ctx: CompileContext): PlanStep[] {
  const idmapped = idmappedBinds(config, ctx.bundle).map((b) => b.index);
  // The kernel idmaps a mount only for a caller privileged over its file system's superblock.
  if (ctx.rootless && idmapped.length) throw new ConfigError(`mounts[${idmapped[0]}]`, 'an idmapped bind needs root on the host (CAP_SYS_ADMIN over the file system), which a rootless berth has not');
  return config.mounts.flatMap((m, i) => {
    checkProcMount(m, i);
    if (isBind(m)) return bindPlan(m, i, ctx, idmapped.includes(i) ? Slot.IDMAPPED + idmapped.indexOf(i) : null);
    if (!m.type) throw new ConfigError(`mounts[${i}].type`, 'is required unless the mount is a bind mount');
    if (m.type === 'cgroup') return cgroupPlan(m, i, config, ctx);
    const options = optionsOf(m, i, m.type);
    const { flags, propagation, data } = options;
    const dest = m.destination;
    const [op, what] = options.copyUp ? (['MOUNT_COPYUP', `mount ${m.type} on ${dest}, with a copy of what it hides`] as const) : (['MOUNT', `mount ${m.type} on ${dest}`] as const);
    const mount = step(op, what, m.source ?? m.type, dest, m.type, flags, mountData(m, data, config, ctx.lsm), Resolve.DIR);
    return [mount, ...recursivePlan(dest, options), ...propagate(dest, propagation, dest)];
  });
}

/**
 * The mount points of config.json's mounts, made in ROOT (an fd-resolved path, as the mounts are)
 * without mounting: a restore's CRIU mounts onto them, and a fresh rootfs lacks them (runc makes them too).
 */
export function mountPointPlan(config: Config, root: string, ctx: Pick<CompileContext, 'bundle' | 'sourceKind'>): PlanStep[] {
  const points = config.mounts.map((m) => {
    const file = isBind(m) && m.source && ctx.sourceKind(bindSource(m, ctx.bundle)) === 'file';
    return step('MOUNTPOINT', `make the mount point ${m.destination}`, m.destination, file ? Resolve.FILE : Resolve.DIR);
  });
  return [openRoot(root), ...points, step('READY', 'report the mount points made')];
}

/** True when config.json binds the host's /dev over the container's: then berth creates no devices. */
export function bindsDev(config: Config): boolean {
  return config.mounts.some((m) => posix.normalize(m.destination) === '/dev' && isBind(m));
}

/** After pivot_root: the root read-only if asked, then readonlyPaths and maskedPaths. */
export function finalRootPlan(config: Config): PlanStep[] {
  const { readonlyPaths = [], maskedPaths = [] } = config.linux;
  if (!ownMountNamespace(config)) {
    // Remounting / or binding over paths here would change the host's own mounts.
    if (config.root.readonly) throw new ConfigError('root.readonly', 'needs a mount namespace of the container\'s own');
    if (readonlyPaths.length) throw new ConfigError('linux.readonlyPaths', 'needs a mount namespace of the container\'s own');
    if (maskedPaths.length) throw new ConfigError('linux.maskedPaths', 'needs a mount namespace of the container\'s own');
  }
  return [
    ...(config.root.readonly ? [step('REMOUNT_RO', 'remount / read-only', '/', Resolve.ABSOLUTE)] : []),
    ...readonlyPaths.map((p) => step('READONLY', `make ${p} read-only`, p)),
    ...maskedPaths.map((p) => step('MASK', `mask ${p}`, p)),
  ];
}
