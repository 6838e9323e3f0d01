// linux.sysctl: written inside the container, and only for keys its own namespaces confine —
// anything else would change the host.
import { step, type PlanStep } from '../plan.js';
import type { Config, NamespaceType } from '../spec/config.js';
import { ConfigError } from '../spec/validate.js';

const ipcKeys = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

/** The namespace that confines KEY, or null when no namespace does. */
export function sysctlNamespace(key: string): NamespaceType | null {
  if (ipcKeys.has(key) || key.startsWith('fs.mqueue.')) return 'ipc';
  if (key.startsWith('net.')) return 'network';
  if (key === 'kernel.hostname' || key === 'kernel.domainname') return 'uts';
  return null;
}

export function sysctlPlan(config: Config): PlanStep[] {
  return Object.entries(config.linux.sysctl ?? {}).map(([raw, value]) => {
    const key = raw.replace(/\//g, '.');
    const ns = sysctlNamespace(key);
    if (!ns) throw new ConfigError(`linux.sysctl.${raw}`, 'is not confined by a namespace: berth will not change it on the host');
    if (!config.linux.namespaces.some((n) => n.type === ns)) throw new ConfigError(`linux.sysctl.${raw}`, `needs a ${ns} namespace of the container's own`);
    return step('WRITE_FILE', `set sysctl ${key}=${value}`, `/proc/sys/${key.replace(/\./g, '/')}`, value);
  });
}
