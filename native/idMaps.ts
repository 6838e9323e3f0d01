// A new user namespace's id maps, written from outside by berth: as root, directly; as a user
// (rootless), directly for the user's own single id (after denying setgroups, as the kernel
// requires of an unprivileged writer) and through the setuid newuidmap/newgidmap for wider ranges
// (from /etc/subuid and /etc/subgid), as runc and crun do.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { idMapText } from './compile/namespaces.js';
import { BerthError } from './errors.js';
import type { IdMapping } from './spec/config.js';

const ownIdOnly = (maps: IdMapping[], id: number) => maps.length === 1 && maps[0]!.hostID === id && maps[0]!.size === 1;

function throughHelper(helper: 'newuidmap' | 'newgidmap', pid: number, maps: IdMapping[]): void {
  const r = spawnSync(helper, [String(pid), ...maps.flatMap((m) => [m.containerID, m.hostID, m.size].map(String))], { encoding: 'utf8' });
  if (r.error) throw new BerthError(`${helper}: ${r.error.message} (a rootless berth maps more than its own id through it: install uidmap)`);
  if (r.status !== 0) throw new BerthError(`${helper}: ${(r.stderr || `exit status ${r.status}`).trim().split('\n').at(-1)}`);
}

export function writeIdMaps(pid: number, uidMappings: IdMapping[], gidMappings: IdMapping[]): void {
  const euid = process.geteuid?.() ?? 0;
  const egid = process.getegid?.() ?? 0;
  if (euid === 0 || ownIdOnly(uidMappings, euid)) writeFileSync(`/proc/${pid}/uid_map`, idMapText(uidMappings));
  else throughHelper('newuidmap', pid, uidMappings);
  if (euid === 0) writeFileSync(`/proc/${pid}/gid_map`, idMapText(gidMappings));
  else if (ownIdOnly(gidMappings, egid)) {
    writeFileSync(`/proc/${pid}/setgroups`, 'deny');
    writeFileSync(`/proc/${pid}/gid_map`, idMapText(gidMappings));
  } else throughHelper('newgidmap', pid, gidMappings);
}
