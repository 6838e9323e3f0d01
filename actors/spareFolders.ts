// A state root's spare folders: a deleted container's folder, emptied of its record, kept under
// <root>/@spare/ with its files for the next create to claim. A new inode costs on a disk file
// system: this VM's ext4, without a journal, passes over every inode freed in the last minutes to
// find a free one, so the six a lifecycle made and freed cost 0.25–0.9 ms, more the faster
// containers came and went; a claimed folder makes and frees none (0.07 ms, as on tmpfs).
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { isErrno } from '../native/errors.js';
import { renameNoReplace } from '../native/syscalls.js';
import { lockFolderNow } from './folderLock.js';

/** Under the state root; not a valid container id, so never listed as one. */
export const SPARE_DIR = '@spare';
/** Kept per root at most: each holds four inodes and a few pages. */
const MAX_SPARES = 32;

/** The spares this thread knows of, by root: those it kept, or found there when it knew of none. */
const known = new Map<string, string[]>();
let kept = 0;

function spares(root: string, lookAgain: boolean): string[] {
  let names = known.get(root);
  if (names && !(lookAgain && names.length === 0)) return names;
  try {
    names = readdirSync(join(root, SPARE_DIR));
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
    names = [];
  }
  known.set(root, names);
  return names;
}

/**
 * A spare claimed as the folder DIR, with its lock held: the lock's release, or null when there is
 * no spare free. A spare still locked (the delete that kept it has not let go yet) is passed over.
 * When DIR exists, renameat2's EEXIST is thrown and the spare stays.
 */
export function claimSpare(root: string, dir: string): (() => void) | null {
  const names = spares(root, true);
  for (let i = names.length - 1; i >= 0; i--) {
    const spare = join(root, SPARE_DIR, names[i]!);
    let unlock: (() => void) | null;
    try {
      unlock = lockFolderNow(spare);
    } catch {
      names.splice(i, 1); // claimed by another berth, or not a folder berth made
      continue;
    }
    if (!unlock) continue;
    try {
      renameNoReplace(spare, dir);
    } catch (e) {
      unlock();
      if (isErrno(e, 'EEXIST')) throw e;
      names.splice(i, 1);
      continue;
    }
    names.splice(i, 1);
    return unlock;
  }
  return null;
}

/**
 * Keep the folder DIR as a spare once EMPTY has emptied it of its record (false: it holds what a
 * spare must not). False when the root has enough spares or DIR cannot move (a mount point): then
 * the caller removes it.
 */
export function keepSpare(root: string, dir: string, empty: () => boolean): boolean {
  const names = spares(root, false);
  if (names.length >= MAX_SPARES || !empty()) return false;
  for (let attempt = 0; attempt < 3; attempt++) {
    const name = `${process.pid}.${threadId}.${kept++}`;
    try {
      renameNoReplace(dir, join(root, SPARE_DIR, name));
      names.push(name);
      return true;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) mkdirSync(join(root, SPARE_DIR), { recursive: true, mode: 0o700 });
      else if (!isErrno(e, 'EEXIST')) return false; // EEXIST: a name an earlier berth of this pid left
    }
  }
  return false;
}
