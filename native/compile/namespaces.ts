// namespacePlan: join the namespaces config.json names by path, create the others. A user
// namespace comes first and alone, so that it owns every namespace created after it; berth writes
// its id maps from outside, then the process becomes root of it.
import { step, SyncTag, type PlanStep } from '../plan.js';
import type { Config, IdMapping, NamespaceType } from '../spec/config.js';
import { ConfigError } from '../spec/validate.js';

export const CLONE_FLAGS: Readonly<Record<NamespaceType, number>> = {
  mount: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  network: 0x40000000,
  cgroup: 0x02000000,
  time: 0x00000080,
};

/** /proc/<pid>/ns/<file> for each namespace type. */
export const nsFile: Readonly<Record<NamespaceType, string>> = { user: 'user', ipc: 'ipc', uts: 'uts', network: 'net', pid: 'pid', cgroup: 'cgroup', mount: 'mnt', time: 'time' };

/** Namespace types berth can create or join today. */
export const supportedNamespaces: readonly NamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'];

export const hasNamespace = (config: Config, type: NamespaceType) => config.linux.namespaces.some((n) => n.type === type);

/** True when the container gets a TYPE namespace of its own (not joined by path). */
export const hasNewNamespace = (config: Config, type: NamespaceType) => config.linux.namespaces.some((n) => n.type === type && !n.path);

/** The nsfs file of PID's TYPE namespace. */
export const nsPath = (pid: number, type: NamespaceType) => `/proc/${pid}/ns/${nsFile[type]}`;

function checkMappings(config: Config): void {
  const user = config.linux.namespaces.find((n) => n.type === 'user');
  for (const key of ['uidMappings', 'gidMappings'] as const) {
    const maps = config.linux[key] ?? [];
    if (!user) {
      if (maps.length) throw new ConfigError(`linux.${key}`, 'needs a user namespace (add {"type": "user"} to linux.namespaces)');
      continue;
    }
    if (user.path) continue; // a joined namespace already has its maps
    if (!maps.some((m) => m.containerID === 0)) throw new ConfigError(`linux.${key}`, `must map container ${key === 'uidMappings' ? 'uid' : 'gid'} 0: the container's process starts as root of its user namespace`);
  }
}

export function checkNamespaces(config: Config): void {
  config.linux.namespaces.forEach((n, i) => {
    if (!supportedNamespaces.includes(n.type)) throw new ConfigError(`linux.namespaces[${i}].type`, `the ${n.type} namespace is not supported yet`);
  });
  if ((config.hostname || config.domainname) && !hasNamespace(config, 'uts'))
    throw new ConfigError(config.hostname ? 'hostname' : 'domainname', 'needs a uts namespace (add {"type": "uts"} to linux.namespaces)');
  checkMappings(config);
}

/** /proc/PID/uid_map (or gid_map) content for MAPPINGS. */
export function idMapText(mappings: IdMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

function userNamespacePlan(config: Config): PlanStep[] {
  const user = config.linux.namespaces.find((n) => n.type === 'user');
  if (!user) return [];
  if (user.path) return [step('SETNS', `join the user namespace ${user.path}`, user.path, CLONE_FLAGS.user)];
  return [step('UNSHARE', 'create the user namespace', CLONE_FLAGS.user), step('SYNC', 'have the uid and gid maps written', SyncTag.ID_MAPS)];
}

/**
 * Become root of the user namespace. Not right after creating it: until then the process is still
 * the host's root (kuid 0) with every capability in the new namespace, so it can still walk host
 * folders that only root may enter (the rootfs's parents) while it binds and opens the rootfs.
 * After this step files and mounts it makes belong to the container's root.
 */
export function userNamespaceRootPlan(config: Config): PlanStep[] {
  if (!hasNamespace(config, 'user')) return [];
  return [step('SETGID', 'become gid 0 of the user namespace', 0), step('SETUID', 'become uid 0 of the user namespace', 0)];
}

const loopbackUp = step('LOOPBACK_UP', 'bring up lo in the new network namespace');

/**
 * lo up in the network namespace of PID, a restored container's process: CRIU restores a network
 * namespace checkpointed empty (--empty-ns network) with lo down.
 */
export function loopbackPlan(pid: number): PlanStep[] {
  return [step('SETNS', `join the network namespace of pid ${pid}`, nsPath(pid, 'network'), CLONE_FLAGS.network), loopbackUp, step('READY', 'report lo up')];
}

/**
 * The user namespace first; then joins by path; then one unshare for the new ones, and lo up in a
 * new network namespace. The pid namespace takes effect at FORK.
 */
export function namespacePlan(config: Config): PlanStep[] {
  checkNamespaces(config);
  const others = config.linux.namespaces.filter((n) => n.type !== 'user');
  const joins = others.filter((n) => n.path).map((n) => step('SETNS', `join the ${n.type} namespace ${n.path}`, n.path!, CLONE_FLAGS[n.type]));
  const fresh = others.filter((n) => !n.path);
  const flags = fresh.reduce((f, n) => f | CLONE_FLAGS[n.type], 0);
  const loopback = fresh.some((n) => n.type === 'network') ? [loopbackUp] : [];
  return [...userNamespacePlan(config), ...joins, ...(flags ? [step('UNSHARE', `create the ${fresh.map((n) => n.type).join(', ')} namespaces`, flags)] : []), ...timeOffsetsPlan(config), ...loopback];
}

/**
 * linux.netDevices: berth moves the devices from its own network namespace into the container's,
 * which must then exist (new or joined), before the fork. Moving a device out of the host's
 * namespace takes CAP_NET_ADMIN there, which only berth's side has once a user namespace is made.
 */
export function netDevicesPlan(config: Config, rootless: boolean): PlanStep[] {
  const names = Object.keys(config.linux.netDevices ?? {});
  if (!names.length) return [];
  if (!hasNamespace(config, 'network')) throw new ConfigError('linux.netDevices', 'needs a network namespace of the container\'s (add {"type": "network"} to linux.namespaces)');
  if (rootless) throw new ConfigError('linux.netDevices', "moving a network device needs CAP_NET_ADMIN in the host's network namespace, which a rootless berth has not");
  return [step('SYNC', `have the network device${names.length > 1 ? 's' : ''} ${names.join(', ')} moved in`, SyncTag.NET_DEVICES)];
}

/**
 * linux.timeOffsets: written into a new time namespace before any process enters it (the fork that
 * follows makes the first), through the host's procfs — it is still this process's /proc.
 */
function timeOffsetsPlan(config: Config): PlanStep[] {
  const offsets = Object.entries(config.linux.timeOffsets ?? {}).filter(([, o]) => o);
  if (!offsets.length) return [];
  if (!config.linux.namespaces.some((n) => n.type === 'time' && !n.path)) throw new ConfigError('linux.timeOffsets', 'needs a time namespace of the container\'s own (a new one, not joined)');
  const text = offsets.map(([clock, o]) => `${clock} ${o!.secs} ${o!.nanosecs}\n`).join('');
  return [step('WRITE_FILE', `set the time namespace's offsets (${offsets.map(([c, o]) => `${c} ${o!.secs}s`).join(', ')})`, '/proc/self/timens_offsets', text)];
}
