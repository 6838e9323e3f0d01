// devicePlan: the container's /dev — the default nodes every container has, linux.devices, and links.
import { posix } from 'node:path';
import { Resolve, step, type PlanStep } from '../plan.js';
import type { Config, Device } from '../spec/config.js';
import { deviceTypeBits } from '../spec/validate.js';
import { MS } from './mountFlags.js';
import { bindsDev } from './mounts.js';
import { hasNamespace } from './namespaces.js';

/** The devices the OCI spec says every Linux container has. */
export const defaultDevices: readonly Device[] = [
  { type: 'c', path: '/dev/null', major: 1, minor: 3 },
  { type: 'c', path: '/dev/zero', major: 1, minor: 5 },
  { type: 'c', path: '/dev/full', major: 1, minor: 7 },
  { type: 'c', path: '/dev/random', major: 1, minor: 8 },
  { type: 'c', path: '/dev/urandom', major: 1, minor: 9 },
  { type: 'c', path: '/dev/tty', major: 5, minor: 0 },
];

/** [link target, link path] */
const devLinks: readonly [string, string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
];

function mknod(d: Device): PlanStep {
  const mode = deviceTypeBits[d.type] | (d.fileMode ?? 0o666);
  return step('MKNOD', `create device ${d.path}`, d.path, mode, d.major, d.minor, d.uid ?? 0, d.gid ?? 0);
}

/** In a user namespace mknod is refused: the host's node of the same path is bound in instead. */
function bindDevice(d: Device): PlanStep {
  return step('MOUNT', `bind the host's ${d.path}`, d.path, d.path, '', MS.BIND, '', Resolve.FILE);
}

export function devicePlan(config: Config, rootless: boolean): PlanStep[] {
  const configured = config.linux.devices;
  const own = new Set(configured.map((d) => posix.normalize(d.path)));
  const hostDev = bindsDev(config);
  // Only the host's root may make device nodes: in a user namespace (the container's, or berth's own) they are bound.
  const make = rootless || hasNamespace(config, 'user') ? bindDevice : mknod;
  const steps: PlanStep[] = hostDev ? [] : defaultDevices.filter((d) => !own.has(d.path)).map(make);
  steps.push(...configured.map(make));
  // What the terminal's slave is bound over, made while the root may still be written.
  if (config.process?.terminal) steps.push(step('MOUNTPOINT', 'make /dev/console for the terminal', '/dev/console', Resolve.FILE));
  if (hostDev) return steps;
  steps.push(...devLinks.map(([target, path]) => step('SYMLINK', `link ${path} to ${target}`, target, path)));
  const mountedAt = (dest: string) => config.mounts.some((m) => posix.normalize(m.destination) === dest);
  if (mountedAt('/dev/pts')) steps.push(step('SYMLINK', 'link /dev/ptmx to pts/ptmx', 'pts/ptmx', '/dev/ptmx'));
  if (!mountedAt('/dev/shm')) steps.push(step('MKDIR', 'create /dev/shm', '/dev/shm', 0o1777));
  return steps;
}
