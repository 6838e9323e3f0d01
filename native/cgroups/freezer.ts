// Freezing every process of a container through its cgroup: v1's freezer controller, or cgroup2's
// cgroup.freeze. Freezing is not instant — the kernel stops each task on its way back to user
// space — so freeze() asks, then polls (with backoff, bounded) until the kernel reports it done.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, isErrno } from '../errors.js';
import { waitUntil } from '../signalling.js';
import { controllerDir } from './apply.js';
import { hostLayout, type CgroupLayout } from './layout.js';
import type { CgroupRecord } from './manager.js';

const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8').trim();

/** Each version's file to write, its values, and how to tell the freeze is complete. */
const freezers = {
  1: { file: 'freezer.state', frozen: 'FROZEN', thawed: 'THAWED', isFrozen: (dir: string) => read(dir, 'freezer.state') === 'FROZEN' },
  2: { file: 'cgroup.freeze', frozen: '1', thawed: '0', isFrozen: (dir: string) => /^frozen 1$/m.test(read(dir, 'cgroup.events')) },
} as const;

/** runc gives up after 10 s too: a cgroup whose tasks keep forking may never settle. */
const FREEZE_TIMEOUT_MS = 10_000;

/** The directory whose freezer holds the cgroup at PATHS: v1's freezer hierarchy, or the one cgroup2 directory. Pure. */
export function freezerDir(paths: string[], layout: CgroupLayout): string | undefined {
  return controllerDir(layout, paths, 'freezer');
}

/** True when the container's cgroup is frozen: paused, or frozen by an operation under way. */
export function isFrozen(record: CgroupRecord, layout: CgroupLayout = hostLayout(record.version)): boolean {
  const dir = freezerDir(record.paths, layout);
  return dir !== undefined && freezers[record.version].isFrozen(dir);
}

/** Freeze every process in the cgroup; resolves once all of them are frozen. */
export async function freeze(record: CgroupRecord, layout: CgroupLayout = hostLayout(record.version)): Promise<void> {
  const dir = freezerDir(record.paths, layout);
  if (!dir) throw new BerthError('the container has no cgroup in a freezer hierarchy: it cannot be paused');
  const f = freezers[record.version];
  // Asked again each round: a v1 freeze can stall in FREEZING while new tasks join the cgroup.
  const frozen = () => (writeFileSync(join(dir, f.file), f.frozen), f.isFrozen(dir));
  if (await waitUntil(frozen, FREEZE_TIMEOUT_MS)) return;
  thaw(record, layout); // half frozen is the worst state to leave it in
  throw new BerthError(`unable to freeze the container: ${join(dir, f.file)} did not settle in ${FREEZE_TIMEOUT_MS / 1000} s`);
}

/** Let the cgroup's processes run again. Nothing to do where there is no cgroup (not made yet, or gone). */
export function thaw(record: CgroupRecord, layout: CgroupLayout = hostLayout(record.version)): void {
  const dir = freezerDir(record.paths, layout);
  if (!dir) return;
  const f = freezers[record.version];
  try {
    writeFileSync(join(dir, f.file), f.thawed);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}
