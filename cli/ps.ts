// `berth ps`'s table: the host's ps, run with the given arguments (default -ef), cut down to its
// header and the lines of the container's processes — found by the header's PID column, as runc does.
import { spawnSync } from 'node:child_process';
import { BerthError } from '../native/errors.js';

export function psTable(pids: number[], args: string[]): string {
  const r = spawnSync('ps', args.length ? args : ['-ef'], { encoding: 'utf8' });
  if (r.error) throw new BerthError(`ps: ${r.error.message}`);
  if (r.status !== 0) throw new BerthError(`ps ${args.join(' ')}: exit status ${r.status}: ${(r.stdout + r.stderr).trim()}`);
  const [header = '', ...lines] = r.stdout.split('\n');
  const column = header.trim().split(/\s+/).indexOf('PID');
  if (column < 0) throw new BerthError("couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const ours = lines.filter((line) => {
    if (!line.trim()) return false;
    const field = line.trim().split(/\s+/)[column] ?? '';
    if (!/^\d+$/.test(field)) throw new BerthError(`unable to parse pid: "${field}"`);
    return wanted.has(Number(field));
  });
  return [header, ...ours].join('\n');
}
