// What a checkpoint needs to know from /proc about the container's process: where its stdio leads,
// which mounts are its own, the inodes of the namespaces it joined by path (options.ts maps them).
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import type { Config, NamespaceType } from '../spec/config.js';
import type { StdioFact } from './options.js';

/** fds 0, 1 and 2 of PID, those that are open. */
export function stdioFacts(pid: number): StdioFact[] {
  return [0, 1, 2].flatMap((fd) => {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const mntId = Number(/^mnt_id:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1] ?? -1);
      return [{ fd, link, mntId, inode: statSync(`/proc/${pid}/fd/${fd}`).ino }];
    } catch {
      return []; // closed
    }
  });
}

/** The mount ids of PID's mount namespace. */
export function mountIds(pid: number): number[] {
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.split(' ', 1)[0]));
}

/** The inode of each namespace CONFIG joins by path. */
export function namespaceInodes(config: Config): Partial<Record<NamespaceType, number>> {
  return Object.fromEntries(config.linux.namespaces.filter((n) => n.path).map((n) => [n.type, statSync(n.path!).ino]));
}
