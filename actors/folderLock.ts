// One container, one operation at a time, across berth processes: an flock on its state folder
// (and on the state root, for hooks). The kernel drops the lock when its holder dies, so a killed
// berth never wedges a container.
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { waitUntil } from '../native/signalling.js';
import { flock, LOCK_EX, LOCK_NB } from '../native/syscalls.js';

/**
 * Lock the folder DIR; resolves with the function that releases it. Waiting polls with LOCK_NB
 * rather than blocking a libuv pool thread per waiter (the pool has four; fs calls need them), each
 * pause a tenth of the time waited so far (1 ms to 50 ms): a lock is taken at most 10% (or 1 ms)
 * after its holder lets it go. (Doubling pauses up to 25 ms took a lock freed after 9 ms at 15 ms.)
 */
export async function lockFolder(dir: string): Promise<() => void> {
  for (;;) {
    const fd = openSync(dir, 'r');
    try {
      await waitUntil(() => flock(fd, LOCK_EX | LOCK_NB, dir), Infinity);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    if (sameFolder(fd, dir)) return () => closeSync(fd);
    // While this waited, its holder deleted the container, and a new one of the same id may have
    // its folder at DIR by now: the lock taken is not DIR's. Asked again, DIR is what it is now.
    closeSync(fd);
  }
}

/** The lock of the folder DIR when it is free now: the function that releases it, or null while another holds it. */
export function lockFolderNow(dir: string): (() => void) | null {
  const fd = openSync(dir, 'r');
  if (flock(fd, LOCK_EX | LOCK_NB, dir)) return () => closeSync(fd);
  closeSync(fd);
  return null;
}

function sameFolder(fd: number, dir: string): boolean {
  const held = fstatSync(fd);
  try {
    const now = statSync(dir);
    return now.ino === held.ino && now.dev === held.dev;
  } catch {
    return false; // gone: the open above says so
  }
}
