// Noticing the kernel's OOM killer inside a container. v1: an eventfd registered for
// memory.oom_control in cgroup.event_control, which the kernel signals on every OOM in the cgroup.
// v2: the oom_kill counter of memory.events. Both are read when asked (take), never waited on, so
// watching costs no thread: the caller polls at its own pace.
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isErrno } from '../errors.js';
import { closeFd, eventFd, readEventFd } from '../syscalls.js';
import { controllerDir } from './apply.js';
import { hostLayout, type CgroupLayout } from './layout.js';
import type { CgroupRecord } from './manager.js';
import { keyedValues } from './stats.js';

export interface OomWatch {
  /** OOM events since the last call (or since the watch began). */
  take(): number;
  close(): void;
}

function watchV1(dir: string): OomWatch {
  const control = join(dir, 'cgroup.event_control');
  const oomControl = openSync(join(dir, 'memory.oom_control'), 'r');
  let efd: number;
  try {
    efd = eventFd();
    try {
      writeFileSync(control, `${efd} ${oomControl}`);
    } catch (e) {
      closeFd(efd);
      throw e;
    }
  } catch (e) {
    closeSync(oomControl);
    throw e;
  }
  return {
    // Removing the cgroup signals the eventfd too: then event_control is gone, and it was no OOM.
    take: () => {
      const events = readEventFd(efd);
      return events > 0 && existsSync(control) ? events : 0;
    },
    close: () => {
      closeFd(efd);
      closeSync(oomControl);
    },
  };
}

function watchV2(dir: string): OomWatch {
  const count = () => keyedValues(readFileSync(join(dir, 'memory.events'), 'utf8'))?.oom_kill ?? 0;
  let seen = count();
  return {
    take: () => {
      let now: number;
      try {
        now = count();
      } catch (e) {
        if (isErrno(e, 'ENOENT')) return 0; // the cgroup is gone
        throw e;
      }
      const kills = now - seen;
      seen = now;
      return kills;
    },
    close: () => {},
  };
}

/** Watch the container's cgroup for OOM kills; null where it has no memory controller to watch. */
export function watchOom(record: CgroupRecord, layout: CgroupLayout = hostLayout(record.version)): OomWatch | null {
  const dir = controllerDir(layout, record.paths, 'memory');
  if (!dir || !existsSync(join(dir, record.version === 1 ? 'memory.oom_control' : 'memory.events'))) return null;
  return record.version === 1 ? watchV1(dir) : watchV2(dir);
}
