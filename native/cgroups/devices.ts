// Device rules: linux.resources.devices plus the ones berth adds, reduced to what takes effect.
// One reading for both versions: v1 writes the rules to devices.allow/deny in order, v2 compiles
// them into an eBPF filter that answers the same.
import { defaultDevices } from '../compile/devices.js';
import type { Device, DeviceCgroupRule } from '../spec/config.js';

export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'b' | 'c';
  /** null: every number. */
  major: number | null;
  minor: number | null;
  /** Some of r, w, m. */
  access: string;
  /** Where the rule comes from, for errors. */
  field: string;
}

const wildcard = (n: number | undefined) => (n === undefined || n === -1 ? null : n);

/** linux.resources.devices as rules: an absent type, number or access means "all", as the spec says. */
export function configDeviceRules(rules: DeviceCgroupRule[] = []): DeviceRule[] {
  return rules.map((r, i) => ({
    allow: r.allow,
    type: r.type ?? 'a',
    major: wildcard(r.major),
    minor: wildcard(r.minor),
    access: r.access ?? 'rwm',
    field: `linux.resources.devices[${i}]`,
  }));
}

/** Terminals: /dev/pts/* and /dev/ptmx, as every runtime allows them. */
const terminalRules = [
  { type: 'c', major: 136, minor: null, path: '/dev/pts/*' },
  { type: 'c', major: 5, minor: 2, path: '/dev/ptmx' },
] as const;

/**
 * Rules berth appends after the config's, so the container's own /dev works: full use of the
 * default nodes berth creates and of terminals, and mknod for the config's linux.devices (berth
 * creates them after the rules are in force). Appended, as runc does, so a config cannot deny them.
 */
export function berthDeviceRules(configured: Device[]): DeviceRule[] {
  const own = new Set(configured.map((d) => d.path));
  const rule = (type: 'b' | 'c', major: number, minor: number | null, access: string, path: string): DeviceRule => ({
    allow: true,
    type,
    major,
    minor,
    access,
    field: `linux.resources.devices (berth's rule for ${path})`,
  });
  return [
    ...defaultDevices.filter((d) => !own.has(d.path)).map((d) => rule('c', d.major, d.minor, 'rwm', d.path)),
    ...terminalRules.map((t) => rule(t.type, t.major, t.minor, 'rwm', t.path)),
    ...configured.filter((d) => d.type !== 'p').map((d) => rule(d.type === 'b' ? 'b' : 'c', d.major, d.minor, 'm', d.path)),
  ];
}

export interface DevicePolicy {
  /** The 'a' rule in force: every device starts allowed or denied. */
  base: DeviceRule;
  /** Later rules, each overriding the ones before it for the accesses it names. */
  rules: DeviceRule[];
}

const denyAll: DeviceRule = { allow: false, type: 'a', major: null, minor: null, access: 'rwm', field: 'linux.resources.devices' };

/**
 * Every container starts from "deny all". An 'a' rule stands for every device and every access
 * whatever its numbers say (the kernel's v1 reading), so it wipes out the rules before it.
 */
export function devicePolicy(rules: DeviceRule[]): DevicePolicy {
  const all = [denyAll, ...rules];
  const last = all.findLastIndex((r) => r.type === 'a');
  return { base: all[last]!, rules: all.slice(last + 1) };
}

/** The v1 devices.allow/devices.deny line: `c 1:3 rwm`, `a *:* rwm`. */
export function v1DeviceLine(rule: DeviceRule): string {
  if (rule.type === 'a') return 'a *:* rwm';
  return `${rule.type} ${rule.major ?? '*'}:${rule.minor ?? '*'} ${rule.access}`;
}
