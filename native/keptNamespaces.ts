// Namespaces that outlive their processes: a stopped container keeps its network, ipc and uts
// namespaces (and the user namespace that owns them) as bind mounts of /proc/<pid>/ns/<type> on
// files in its state folder — what `ip netns add` does — for a restart to join. The pid namespace
// cannot outlive its last process; the mount and cgroup namespaces are made again.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nsFile, nsPath } from './compile/namespaces.js';
import { SyscallError } from './errors.js';
import type { Config, NamespaceType } from './spec/config.js';
import { bindMount, detachMount } from './syscalls.js';

export type KeptNamespaces = Partial<Record<NamespaceType, string>>;

const keepable: readonly NamespaceType[] = ['user', 'network', 'ipc', 'uts'];

/** Keep the namespaces PID created for the container (joined ones are kept by their owners). */
export function keepNamespaces(pid: number, dir: string, config: Config): KeptNamespaces {
  const kept: KeptNamespaces = {};
  const folder = join(dir, 'ns');
  for (const n of config.linux.namespaces) {
    if (n.path || !keepable.includes(n.type)) continue;
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const target = join(folder, nsFile[n.type]);
    writeFileSync(target, '');
    bindMount(nsPath(pid, n.type), target);
    kept[n.type] = target;
  }
  return kept;
}

/** Let kept namespaces go: unmount each (they end with their last reference). */
export function releaseNamespaces(kept: KeptNamespaces): void {
  for (const path of Object.values(kept)) {
    try {
      detachMount(path);
    } catch (e) {
      if (!(e instanceof SyscallError && (e.code === 'EINVAL' || e.code === 'ENOENT'))) throw e; // not mounted (any more)
    }
    rmSync(path, { force: true });
  }
}

/**
 * The config a restart runs: the kept namespaces joined by path instead of made anew. The network
 * namespace (kept, or the one joined by path) still has the devices the first create moved in.
 */
export function withKeptNamespaces(config: Config, kept: KeptNamespaces): Config {
  const namespaces = config.linux.namespaces.map((n) => (kept[n.type] ? { type: n.type, path: kept[n.type] } : n));
  return { ...config, linux: { ...config.linux, namespaces, netDevices: undefined } };
}
