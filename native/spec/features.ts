// `berth features`: what this build supports, in the OCI features format, read off berth's own tables.
import { OCI_VERSION } from '../../actors/stateStore.js';
import { extensionOptions, flagOptions, propagationOptions, recursiveOptions } from '../compile/mountFlags.js';
import { supportedNamespaces } from '../compile/namespaces.js';
import { seccompActions, seccompFlags, seccompOperators } from '../compile/seccomp.js';
import { architectures } from '../compile/seccomp/architectures.js';

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean };
    seccomp: { enabled: boolean; actions: string[]; operators: string[]; archs: string[]; knownFlags: string[]; supportedFlags: string[] };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
  };
  annotations: Record<string, string>;
}

export function features(): Features {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: [],
    mountOptions: [...Object.keys(flagOptions), ...Object.keys(propagationOptions), ...Object.keys(recursiveOptions), ...Object.keys(extensionOptions)].sort(),
    linux: {
      namespaces: [...supportedNamespaces],
      capabilities: [],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: {
        enabled: true,
        actions: Object.keys(seccompActions),
        operators: Object.keys(seccompOperators),
        archs: Object.keys(architectures),
        knownFlags: Object.keys(seccompFlags),
        supportedFlags: Object.keys(seccompFlags),
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { 'org.berth.version': process.env.npm_package_version ?? '0.1.0' },
  };
}
