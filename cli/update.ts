// `berth update`'s flags → the linux.resources fields they set (runc's flags and units). With
// --resources the file is the object itself, and the flags do not apply, as in runc.
import type { Values } from './options.js';
import { readJsonFile } from './jsonFile.js';
import { UsageError } from './options.js';
import { parseBytes } from './units.js';
import { BerthError } from '../native/errors.js';
import { intelRdtRefusal } from '../native/spec/validate.js';

const integer = (text: string, flag: string) => {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`invalid value "${text}" for flag -${flag}: not an integer`);
  return Number(text);
};
const list = (text: string) => text;

/** Flag (its key in options.ts) → section and field of linux.resources, the flag's name, and how its value reads. */
const fields: Record<string, [section: string, field: string, flag: string, parse: (text: string, flag: string) => number | string]> = {
  memory: ['memory', 'limit', 'memory', parseBytes],
  memorySwap: ['memory', 'swap', 'memory-swap', parseBytes],
  memoryReservation: ['memory', 'reservation', 'memory-reservation', parseBytes],
  kernelMemory: ['memory', 'kernel', 'kernel-memory', parseBytes],
  kernelMemoryTcp: ['memory', 'kernelTCP', 'kernel-memory-tcp', parseBytes],
  cpuShares: ['cpu', 'shares', 'cpu-share', integer],
  cpuQuota: ['cpu', 'quota', 'cpu-quota', integer],
  cpuPeriod: ['cpu', 'period', 'cpu-period', integer],
  cpuBurst: ['cpu', 'burst', 'cpu-burst', integer],
  cpuRtPeriod: ['cpu', 'realtimePeriod', 'cpu-rt-period', integer],
  cpuRtRuntime: ['cpu', 'realtimeRuntime', 'cpu-rt-runtime', integer],
  cpuIdle: ['cpu', 'idle', 'cpu-idle', integer],
  cpusetCpus: ['cpu', 'cpus', 'cpuset-cpus', list],
  cpusetMems: ['cpu', 'mems', 'cpuset-mems', list],
  pidsLimit: ['pids', 'limit', 'pids-limit', integer],
  blkioWeight: ['blockIO', 'weight', 'blkio-weight', integer],
};

/** The resources an update asks for: the --resources file (- for STDIN, read by the caller), or the flags. Validated by the update itself. */
export function updateResources(flags: Values, stdin: () => Promise<Buffer>): Promise<unknown> | unknown {
  for (const [key, name] of [['l3CacheSchema', 'l3-cache-schema'], ['memBwSchema', 'mem-bw-schema']] as const)
    if (flags[key] !== undefined) throw new BerthError(`--${name}: ${intelRdtRefusal()}`, 'invalid');
  if (flags.resources !== undefined) {
    const path = flags.resources as string;
    return path === '-' ? stdin().then((data) => readJsonFile(data, 'stdin')) : readJsonFile(path, path);
  }
  const resources: Record<string, Record<string, number | string>> = {};
  for (const [key, [section, field, flag, parse]] of Object.entries(fields)) {
    if (flags[key] !== undefined) (resources[section] ??= {})[field] = parse(flags[key] as string, flag);
  }
  return resources;
}
