// The config.json `berth spec` writes: a busybox-friendly container with the usual isolation.
import { OCI_VERSION } from '../../actors/stateStore.js';
import { DEFAULT_PATH } from '../compile/process.js';
import type { ConfigWithProcess } from './config.js';

const defaultCapabilities = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export function defaultSpec(): ConfigWithProcess {
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: [`PATH=${DEFAULT_PATH}`, 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: defaultCapabilities, effective: defaultCapabilities, permitted: defaultCapabilities },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'berth',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: [] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      devices: [],
      maskedPaths: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
    annotations: {},
  };
}

/**
 * `spec --rootless`: for a user's berth — a user namespace in which the user's own uid and gid are
 * root; no cgroup mount and no cgroup rules (on a v1 host a user has no cgroup of its own); devpts
 * without gid=5, which the single mapping does not map.
 */
export function rootlessSpec(uid: number, gid: number): ConfigWithProcess {
  const c = defaultSpec();
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  c.mounts = c.mounts.filter((m) => m.type !== 'cgroup').map((m) => (m.type === 'devpts' ? { ...m, options: m.options.filter((o) => o !== 'gid=5') } : m));
  delete c.linux.resources;
  return c;
}
