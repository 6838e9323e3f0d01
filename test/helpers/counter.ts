// A container that counts: what pause, checkpoint and a real client check by effect.
import { existsSync, readFileSync } from 'node:fs';
import type { ConfigPatch } from './fixtures.js';

/**
 * A shell loop counting up in /tmp/count every TICK seconds. Each value is written whole (to a new
 * file, then renamed over): a reader, or a freeze or a dump between two writes, never meets a
 * half-written count (which would read as 0).
 */
export const counterScript = (tick: number) => `i=0; while true; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep ${tick}; done`;

/** A writable /tmp over the container's root, for the count. */
export const withTmp: ConfigPatch = (c) => {
  c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
};

/** The count of the container whose process is PID, read from the host through its root; 0 before the first. */
export function countIn(pid: number): number {
  const file = `/proc/${pid}/root/tmp/count`;
  return existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
}
