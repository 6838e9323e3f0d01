// How the process is scheduled and what it takes itself for: its CPU scheduler (sched_setattr), its
// I/O priority (ioprio_set), the CPUs an exec'd process runs on (sched_setaffinity) and the
// personality. The kernel's numbers, as tables; validate.ts takes its words from them. Pure.
import { step, type PlanStep } from '../plan.js';
import type { CpuAffinity, IoPriority, Personality, Scheduler } from '../spec/config.js';

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

export function personalityPlan(personality: Personality | undefined): PlanStep[] {
  return personality ? [step('PERSONALITY', `set the personality ${personality.domain}`, personalityDomains[personality.domain])] : [];
}

/** The CPUs of LIST ("0-3,7"; checked by validate.ts) as the bitmask sched_setaffinity takes; all when LIST is empty. */
export function cpuMask(list: string): Buffer {
  const mask = Buffer.alloc(CPU_SETSIZE / 8);
  const set = (cpu: number) => (mask[cpu >> 3]! |= 1 << (cpu & 7));
  if (!list.trim()) mask.fill(0xff);
  for (const part of list.split(',').filter((p) => p.trim())) {
    const [a, b = a] = part.split('-').map(Number) as [number, number?];
    for (let cpu = a; cpu <= b!; cpu++) set(cpu);
  }
  return mask;
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
