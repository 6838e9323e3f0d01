// Freezing a container's cgroup ahead of CRIU. CRIU freezes a thawed cgroup itself, but then checks
// the state only every 100 ms; frozen here (polled every millisecond), the cgroup is one CRIU takes
// as it is: it seizes the tasks, and leaves the cgroup frozen again after a dump that keeps them.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError } from '../errors.js';

const FREEZE_TIMEOUT_MS = 10_000;

/** The files of each version: how to ask, and how to see it done. */
const freezer = {
  1: { file: 'freezer.state', freeze: 'FROZEN', thaw: 'THAWED', frozen: (dir: string) => readFileSync(join(dir, 'freezer.state'), 'utf8').trim() === 'FROZEN' },
  2: { file: 'cgroup.freeze', freeze: '1', thaw: '0', frozen: (dir: string) => /^frozen 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8')) },
} as const;

/** Freeze the cgroup at DIR; false when it was frozen already (then it is not this caller's to thaw). */
export async function freezeCgroup(dir: string, version: 1 | 2): Promise<boolean> {
  const f = freezer[version];
  if (f.frozen(dir)) return false;
  writeFileSync(join(dir, f.file), f.freeze);
  const deadline = Date.now() + FREEZE_TIMEOUT_MS;
  while (!f.frozen(dir)) {
    if (Date.now() > deadline) {
      thawCgroup(dir, version);
      throw new BerthError(`cgroup ${dir} did not freeze in ${FREEZE_TIMEOUT_MS / 1000} s`);
    }
    await sleep(1);
  }
  return true;
}

export function thawCgroup(dir: string, version: 1 | 2): void {
  writeFileSync(join(dir, freezer[version].file), freezer[version].thaw);
}
