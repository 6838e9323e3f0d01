// namespacePlan: join the namespaces config.json names by path, create the others.
import { step, type PlanStep } from '../plan.js';
import type { Config, NamespaceType } from '../spec/config.js';
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

/** Namespace types berth can create or join today. */
export const supportedNamespaces: readonly NamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'cgroup'];

export function checkNamespaces(config: Config): void {
  const ns = config.linux.namespaces;
  ns.forEach((n, i) => {
    if (!supportedNamespaces.includes(n.type)) throw new ConfigError(`linux.namespaces[${i}].type`, `the ${n.type} namespace is not supported yet`);
  });
  // Without its own mount namespace the container's mounts would land on the host.
  if (!ns.some((n) => n.type === 'mount')) throw new ConfigError('linux.namespaces', 'a mount namespace is required');
  if ((config.hostname || config.domainname) && !ns.some((n) => n.type === 'uts'))
    throw new ConfigError(config.hostname ? 'hostname' : 'domainname', 'needs a uts namespace (add {"type": "uts"} to linux.namespaces)');
}

/** Joins first (by path), then one unshare for all new ones. The pid namespace takes effect at FORK. */
export function namespacePlan(config: Config): PlanStep[] {
  checkNamespaces(config);
  const ns = config.linux.namespaces;
  const joins = ns.filter((n) => n.path).map((n) => step('SETNS', `join the ${n.type} namespace ${n.path}`, n.path!, CLONE_FLAGS[n.type]));
  const fresh = ns.filter((n) => !n.path);
  const flags = fresh.reduce((f, n) => f | CLONE_FLAGS[n.type], 0);
  return flags ? [...joins, step('UNSHARE', `create the ${fresh.map((n) => n.type).join(', ')} namespaces`, flags)] : joins;
}
