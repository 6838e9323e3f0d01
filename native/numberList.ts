// The kernel's list form for CPUs and NUMA nodes ("0-3,7", as cpuset.cpus reads): its ranges and
// the numbers they name. One reader for the validator, the plan's masks and the stats. Pure.

/** The ranges of LIST, each with its text (a lone number is a range of one). */
export function listRanges(list: string): { first: number; last: number; text: string }[] {
  return list
    .split(',')
    .filter((text) => text.trim())
    .map((text) => {
      const [first, last = first] = text.split('-').map(Number) as [number, number?];
      return { first, last: last!, text };
    });
}

/** Every number LIST names, in order. */
export const listNumbers = (list: string): number[] => listRanges(list).flatMap(({ first, last }) => Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i));
