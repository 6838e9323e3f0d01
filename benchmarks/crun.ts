// crun 1.8 refuses a hybrid cgroup host whose cgroup2 mount still has controllers (here: hugetlb).
// Binding hugetlb to a v1 hierarchy mounted in a temp folder takes it off cgroup2 without touching
// any host path; the returned function undoes it. Nothing is done when crun already works.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function crunWorks(bundle: string, root: string): boolean {
  const r = spawnSync('crun', ['--root', root, 'run', '--bundle', bundle, 'crun-probe'], { encoding: 'utf8' });
  if (r.status === 0) return true;
  if (!/hybrid mode not supported/.test(r.stderr)) throw new Error(`crun does not run here: ${r.stderr.trim()}`);
  return false;
}

export async function prepareCrun(bundle: string, root: string): Promise<() => void> {
  if (crunWorks(bundle, root)) return () => {};
  // runc names a v1 hierarchy after its mount point's last component: it must read "hugetlb".
  const holder = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const mnt = join(holder, 'hugetlb');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'cgroup', '-o', 'hugetlb', 'cgroup', mnt]);
  console.log(`# crun: hugetlb taken off cgroup2 by a v1 hierarchy at ${mnt} for this run`);
  const restore = () => {
    spawnSync('umount', [mnt]);
    rmSync(holder, { recursive: true, force: true });
  };
  if (!crunWorks(bundle, root)) {
    restore();
    throw new Error('crun still refuses this host');
  }
  return restore;
}
