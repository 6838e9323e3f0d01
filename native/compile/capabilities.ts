// Capabilities: names in config.json → bit masks for the five sets, and the steps that apply them
// around setuid (the bounding set first, while CAP_SETPCAP is still held; capset after setuid).
import { step, type PlanStep } from '../plan.js';
import type { Process } from '../spec/config.js';
import { ConfigError } from '../spec/validate.js';

/** Linux capability numbers, by name. */
export const capabilityNumbers: Readonly<Record<string, number>> = Object.fromEntries(
  [
    'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
    'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
    'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
    'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
    'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
    'CHECKPOINT_RESTORE',
  ].map((name, i) => [`CAP_${name}`, i]),
);

export const capabilitySets = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;
export type CapabilitySet = (typeof capabilitySets)[number];

export interface CapabilityMasks {
  masks: Record<CapabilitySet, bigint>;
  /** Names the running kernel does not know: skipped, as runc does. */
  skipped: string[];
  /** Ambient names not in both permitted and inheritable: the kernel refuses to raise them (runc warns and goes on). */
  unraisable: string[];
}

/** Names → masks. Unknown names are errors; names above the kernel's last capability are skipped. */
export function capabilityMasks(caps: Record<string, string[]>, lastCap: number): CapabilityMasks {
  const masks = Object.fromEntries(capabilitySets.map((s) => [s, 0n])) as Record<CapabilitySet, bigint>;
  const skipped = new Set<string>();
  for (const [set, names] of Object.entries(caps)) {
    if (!(capabilitySets as readonly string[]).includes(set)) throw new ConfigError(`process.capabilities.${set}`, `unknown capability set (${capabilitySets.join(', ')})`);
    names.forEach((name, i) => {
      const n = capabilityNumbers[name];
      if (n === undefined) throw new ConfigError(`process.capabilities.${set}[${i}]`, `unknown capability "${name}"`);
      if (n > lastCap) skipped.add(name);
      else masks[set as CapabilitySet] |= 1n << BigInt(n);
    });
  }
  const wanted = masks.ambient;
  masks.ambient &= masks.permitted & masks.inheritable;
  const unraisable = Object.keys(capabilityNumbers).filter((name) => (wanted & ~masks.ambient) & (1n << BigInt(capabilityNumbers[name]!)));
  return { masks, skipped: [...skipped], unraisable };
}

/** Steps before setuid: only the bounding set can be dropped while CAP_SETPCAP is certain. */
export function boundingPlan(process: Process, lastCap: number): PlanStep[] {
  const caps = process.capabilities;
  if (!caps) return [];
  const { masks } = capabilityMasks(caps, lastCap);
  return [step('BOUNDING', 'drop capabilities from the bounding set', masks.bounding, lastCap), step('KEEPCAPS', 'keep capabilities across setuid', 1)];
}

/** Steps after setuid: the effective, permitted and inheritable sets, then the ambient one. */
export function capabilityPlan(process: Process, lastCap: number): PlanStep[] {
  const caps = process.capabilities;
  if (!caps) return [];
  const { masks } = capabilityMasks(caps, lastCap);
  return [
    step('KEEPCAPS', 'stop keeping capabilities across setuid', 0),
    step('CAPSET', 'set the effective, permitted and inheritable capabilities', masks.effective, masks.permitted, masks.inheritable),
    step('AMBIENT', 'set the ambient capabilities', masks.ambient, lastCap),
  ];
}
