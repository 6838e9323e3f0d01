// One container, one operation at a time, across berth processes: an flock on its state folder
// (and on the state root, for hooks). The kernel drops the lock when its holder dies, so a killed
// berth never wedges a container.
import { closeSync, openSync } from 'node:fs';
import { waitUntil } from '../native/signalling.js';
import { flock, LOCK_EX, LOCK_NB } from '../native/syscalls.js';

/**
 * Lock the folder DIR; resolves with the function that releases it. Waiting polls with LOCK_NB
 * rather than blocking a libuv pool thread per waiter (the pool has four; fs calls need them), each
 * pause a tenth of the time waited so far (1 ms to 50 ms): a lock is taken at most 10% (or 1 ms)
 * after its holder lets it go. (Doubling pauses up to 25 ms took a lock freed after 9 ms at 15 ms.)
 */
export async function lockFolder(dir: string): Promise<() => void> {
  const fd = openSync(dir, 'r');
  try {
    await waitUntil(() => flock(fd, LOCK_EX | LOCK_NB, dir), Infinity);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return () => closeSync(fd);
}
