// How the process is scheduled and what it takes itself for: its CPU scheduler (sched_setattr), its
// I/O priority (ioprio_set), the CPUs an exec'd process runs on (sched_setaffinity), the NUMA
// nodes its memory comes from (set_mempolicy) and the personality. The kernel's numbers, as tables;
// validate.ts and features take their words from them. Pure.
import { listNumbers } from '../numberList.js';
import { step, type PlanStep } from '../plan.js';
import type { CpuAffinity, IoPriority, MemoryPolicy, Personality, Scheduler } from '../spec/config.js';

export const schedPolicies = { SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6 } as const;
export const schedFlags = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
} as const;
export const ioPriorityClasses = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 } as const;
export const personalityDomains = { LINUX: 0x0000, LINUX32: 0x0008 } as const;
export const memoryPolicyModes = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
} as const;
/** Flags or'ed into set_mempolicy's mode. */
export const memoryPolicyFlags = { MPOL_F_NUMA_BALANCING: 1 << 13, MPOL_F_RELATIVE_NODES: 1 << 14, MPOL_F_STATIC_NODES: 1 << 15 } as const;
/** How many nodes a memory policy can name: the kernel's MAX_NUMNODES at most (CONFIG_NODES_SHIFT 10). */
export const MAX_NUMA_NODES = 1024;

/** The kernel's CPU set size (CONFIG_NR_CPUS at most 8192): the mask sched_setaffinity takes. */
const CPU_SETSIZE = 8192;

/** process.scheduler and process.ioPriority: set while the process may still raise them (before setuid). */
export function schedulingPlan(scheduler: Scheduler | undefined, ioPriority: IoPriority | undefined): PlanStep[] {
  const steps: PlanStep[] = [];
  if (scheduler) {
    const flags = (scheduler.flags ?? []).reduce((m, f) => m | schedFlags[f], 0);
    const { policy, nice = 0, priority = 0, runtime = 0, deadline = 0, period = 0 } = scheduler;
    steps.push(step('SCHEDULER', `set the scheduler ${policy}`, schedPolicies[policy], flags, nice, priority, BigInt(runtime), BigInt(deadline), BigInt(period)));
  }
  if (ioPriority) steps.push(step('IOPRIO', `set the I/O priority ${ioPriority.class} ${ioPriority.priority}`, (ioPriorityClasses[ioPriority.class] << 13) | ioPriority.priority));
  return steps;
}

/**
 * linux.memoryPolicy: the process's NUMA policy, which its children and its exec'd program keep. No
 * nodes is an empty mask (MPOL_DEFAULT, MPOL_LOCAL; for MPOL_PREFERRED, the local node).
 */
export function memoryPolicyPlan(policy: MemoryPolicy | undefined): PlanStep[] {
  if (!policy) return [];
  const mode = (policy.flags ?? []).reduce<number>((m, f) => m | memoryPolicyFlags[f], memoryPolicyModes[policy.mode]);
  const nodes = policy.nodes ?? '';
  const what = `set the memory policy ${[policy.mode, ...(policy.flags ?? [])].join(' ')}${nodes ? ` on nodes ${nodes}` : ''}`;
  return [step('MEMPOLICY', what, mode, listMask(nodes, MAX_NUMA_NODES))];
}

export function personalityPlan(personality: Personality | undefined): PlanStep[] {
  return personality ? [step('PERSONALITY', `set the personality ${personality.domain}`, personalityDomains[personality.domain])] : [];
}

/** The numbers of LIST ("0-3,7"; checked by validate.ts) as a bitmask of BITS bits, the kernel's unsigned long[] in bytes. */
function listMask(list: string, bits: number): Buffer {
  const mask = Buffer.alloc(bits / 8);
  for (const n of listNumbers(list)) mask[n >> 3]! |= 1 << (n & 7);
  return mask;
}

/** The CPUs of LIST as the bitmask sched_setaffinity takes; all when LIST is empty. */
export function cpuMask(list: string): Buffer {
  return list.trim() ? listMask(list, CPU_SETSIZE) : Buffer.alloc(CPU_SETSIZE / 8, 0xff);
}

/**
 * process.execCPUAffinity, for an exec'd process (the spec's: not the container's own): INITIAL
 * before it joins the container's cgroup, FINAL after — or, without FINAL, every CPU, so that the
 * cgroup's cpuset decides rather than berth's own affinity.
 */
export function execAffinityPlan(affinity: CpuAffinity | undefined): { before: PlanStep[]; after: PlanStep[] } {
  if (!affinity || (!affinity.initial && !affinity.final)) return { before: [], after: [] };
  return {
    before: affinity.initial ? [step('AFFINITY', `run on CPUs ${affinity.initial} until the cgroup is joined`, cpuMask(affinity.initial))] : [],
    after: [step('AFFINITY', affinity.final ? `run on CPUs ${affinity.final}` : "run on the cgroup's CPUs", cpuMask(affinity.final ?? ''))],
  };
}
