// One container, one operation at a time, across berth processes: an flock on its state folder
// (and on the state root, for hooks). The kernel drops the lock when its holder dies, so a killed
// berth never wedges a container.
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { flock, LOCK_EX, LOCK_NB } from '../native/syscalls.js';

/**
 * Lock the folder DIR; resolves with the function that releases it. Waiting polls with LOCK_NB
 * rather than blocking a libuv pool thread per waiter (the pool has four; fs calls need them).
 */
export async function lockFolder(dir: string): Promise<() => void> {
  const fd = openSync(dir, 'r');
  try {
    for (let delay = 1; !flock(fd, LOCK_EX | LOCK_NB, dir); delay = Math.min(delay * 2, 25)) await sleep(delay);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return () => closeSync(fd);
}
