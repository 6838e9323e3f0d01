// This process's mount table, /proc/self/mountinfo, read again only when it changed: a long-lived
// berth server looks at it in every create and delete, and the kernel says when it changes (an
// open mountinfo polls POLLPRI once the table differs from when it was opened).
import { closeSync, openSync, readFileSync } from 'node:fs';
import { hasPriorityEvent } from './syscalls.js';

const MOUNTINFO = '/proc/self/mountinfo';

let watch = -1;
let text = '';

/** The text of /proc/self/mountinfo as it is now. */
export function mountTable(): string {
  if (watch >= 0 && !hasPriorityEvent(watch, MOUNTINFO)) return text;
  // Opened before the read: a change in between is seen at the next call.
  if (watch >= 0) closeSync(watch);
  watch = openSync(MOUNTINFO, 'r');
  text = readFileSync(MOUNTINFO, 'utf8');
  return text;
}

/** The mount points of the table last read, decoded: a server reads the same table for call after call. */
let points: { of: string; list: string[] } | undefined;

/** Mount points strictly below PATH in this mount namespace, deepest first. */
export function mountsBelow(path: string): string[] {
  const table = mountTable();
  if (points?.of !== table) {
    const decode = (p: string) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    points = { of: table, list: table.split('\n').map((l) => decode(l.split(' ')[4] ?? '')) };
  }
  return points.list.filter((m) => m.startsWith(path + '/')).sort((a, b) => b.length - a.length);
}
