// `berth features`: what this build applies on this host, in the OCI features format (runtime-spec
// 1.3's features.md), read off the tables the compilers use — so the two cannot drift — and the
// host's own facts (its capabilities, its LSMs). What berth refuses is reported as not enabled.
import { OCI_VERSION } from '../../actors/stateStore.js';
import { capabilityNumbers } from '../compile/capabilities.js';
import { extensionOptions, flagOptions, propagationOptions, recursiveOptions } from '../compile/mountFlags.js';
import { supportedNamespaces } from '../compile/namespaces.js';
import { seccompActions, seccompFlags, seccompOperators, withRequiredFlags } from '../compile/seccomp.js';
import { architectures } from '../compile/seccomp/architectures.js';
import { delegatedCgroups } from '../cgroups/manager.js';
import { memoryPolicyFlags, memoryPolicyModes } from '../compile/scheduling.js';
import { lastCapability, lsmHost, rootless } from '../procfs.js';
import { seccompTakesFlags } from '../syscalls.js';
import { hookKinds } from './config.js';

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean; rdma: boolean };
    seccomp: { enabled: boolean; actions: string[]; operators: string[]; archs: string[]; knownFlags: string[]; supportedFlags: string[] };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
    intelRdt: { enabled: boolean };
    memoryPolicy: { modes: string[]; flags: string[] };
    mountExtensions: { idmap: { enabled: boolean } };
    netDevices: { enabled: boolean };
  };
  annotations: Record<string, string>;
  /** Annotations that change what berth does (none: berth reads no annotation). */
  potentiallyUnsafeConfigAnnotations: string[];
}

export function features(): Features {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: [...hookKinds],
    // A rootless berth cannot idmap a mount (the kernel wants privilege over the file system).
    mountOptions: [...Object.keys(flagOptions), ...Object.keys(propagationOptions), ...Object.keys(recursiveOptions), ...Object.keys(extensionOptions)].filter((o) => !(rootless() && /^r?idmap$/.test(o))).sort(),
    linux: {
      namespaces: [...supportedNamespaces],
      // The ones this kernel knows: berth skips the others, as runc does.
      capabilities: Object.entries(capabilityNumbers).filter(([, n]) => n <= lastCapability()).map(([name]) => name),
      // A rootless berth makes cgroups only below a cgroup2 subtree delegated to it (v1 gives a user none).
      cgroup: { v1: !rootless(), v2: !rootless() || delegatedCgroups() !== null, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: Object.keys(seccompActions),
        operators: Object.keys(seccompOperators),
        archs: Object.keys(architectures),
        knownFlags: Object.keys(seccompFlags),
        // The ones this kernel has (WAIT_KILLABLE_RECV: 5.19), as runc reports them.
        supportedFlags: Object.entries(seccompFlags).filter(([, flag]) => seccompTakesFlags(withRequiredFlags(flag))).map(([name]) => name),
      },
      // Applied when the host has them enabled (and ignored, with a debug line, when not).
      apparmor: { enabled: lsmHost().apparmor },
      selinux: { enabled: lsmHost().selinux },
      intelRdt: { enabled: false },
      memoryPolicy: { modes: Object.keys(memoryPolicyModes), flags: Object.keys(memoryPolicyFlags) },
      mountExtensions: { idmap: { enabled: !rootless() } },
      // Moved from berth's own network namespace, which takes CAP_NET_ADMIN there.
      netDevices: { enabled: !rootless() },
    },
    annotations: { 'org.berth.version': process.env.npm_package_version ?? '0.1.0' },
    potentiallyUnsafeConfigAnnotations: [],
  };
}
