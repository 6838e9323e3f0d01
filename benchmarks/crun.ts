// crun 1.8 refuses a hybrid cgroup host whose cgroup2 mount still has controllers (here: hugetlb).
// Binding hugetlb to a v1 hierarchy mounted in a temp folder takes it off cgroup2 without touching
// any host path; the returned function undoes it. On a host that is not hybrid nothing is done.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where a hybrid host mounts cgroup2 beside its v1 hierarchies. */
const HYBRID_UNIFIED = '/sys/fs/cgroup/unified/cgroup.controllers';

function crunFailure(bundle: string, root: string): string | null {
  const r = spawnSync('crun', ['--root', root, 'run', '--bundle', bundle, 'crun-probe'], { encoding: 'utf8' });
  return r.status === 0 ? null : r.stderr.trim();
}

/**
 * Make crun work here for this run; BUNDLE's program must exit at once (crun runs it as a probe).
 * The v1 hierarchy is mounted in a temp folder made in PARENT (a caller's own temp folder, say).
 */
export async function prepareCrun(bundle: string, root: string, parent = tmpdir()): Promise<() => void> {
  if (!existsSync(HYBRID_UNIFIED)) {
    const failure = crunFailure(bundle, root);
    if (failure) throw new Error(`crun does not run here: ${failure}`);
    return () => {};
  }
  // Mounted even when crun works at this moment: a v1 hugetlb hierarchy just unmounted (by the
  // previous benchmark) lingers a while and then hands hugetlb back to cgroup2 mid-run; mounting
  // it again keeps it. runc names a v1 hierarchy after its mount point's last component: "hugetlb".
  const holder = mkdtempSync(join(parent, 'berth-bench-'));
  const mnt = join(holder, 'hugetlb');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'cgroup', '-o', 'hugetlb', 'cgroup', mnt]);
  console.log(`# crun: hugetlb taken off cgroup2 by a v1 hierarchy at ${mnt} for this run`);
  const restore = () => {
    spawnSync('umount', [mnt]);
    rmSync(holder, { recursive: true, force: true });
  };
  const failure = crunFailure(bundle, root);
  if (failure) {
    restore();
    throw new Error(`crun does not run here: ${failure}`);
  }
  return restore;
}
