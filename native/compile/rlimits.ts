// rlimits: config.json's process.rlimits as setrlimit steps.
import { step, type PlanStep } from '../plan.js';
import type { Process } from '../spec/config.js';
import { ConfigError } from '../spec/validate.js';

export const rlimitNumbers: Readonly<Record<string, number>> = Object.fromEntries(
  ['CPU', 'FSIZE', 'DATA', 'STACK', 'CORE', 'RSS', 'NPROC', 'NOFILE', 'MEMLOCK', 'AS', 'LOCKS', 'SIGPENDING', 'MSGQUEUE', 'NICE', 'RTPRIO', 'RTTIME'].map((n, i) => [`RLIMIT_${n}`, i]),
);

/** JSON numbers cannot hold 2^64-1 exactly: anything from 2^63 up means RLIM_INFINITY. */
const limit = (v: number): bigint => (v >= 2 ** 63 ? -1n : BigInt(v));

export function rlimitPlan(process: Process): PlanStep[] {
  const seen = new Set<string>();
  return (process.rlimits ?? []).map((r, i) => {
    const path = `process.rlimits[${i}]`;
    const resource = rlimitNumbers[r.type];
    if (resource === undefined) throw new ConfigError(`${path}.type`, `unknown rlimit "${r.type}"`);
    if (seen.has(r.type)) throw new ConfigError(`${path}.type`, `rlimit "${r.type}" is set twice`);
    seen.add(r.type);
    if (limit(r.hard) !== -1n && (limit(r.soft) === -1n || r.soft > r.hard)) throw new ConfigError(path, `soft limit ${r.soft} is above hard limit ${r.hard}`);
    return step('RLIMIT', `set ${r.type} to ${r.soft}/${r.hard}`, resource, limit(r.soft), limit(r.hard));
  });
}
