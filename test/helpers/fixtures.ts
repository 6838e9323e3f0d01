// Fixtures for tests that run real containers: a busybox-static rootfs, bundles, a state root of
// their own under a temp folder, and a cleanup that removes what a test left even when it failed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, cpSync, existsSync, linkSync, openSync, readlinkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultSpec } from '../../native/spec/defaults.js';
import type { ConfigWithProcess } from '../../native/spec/config.js';
import { BerthError } from '../../native/errors.js';
import { waitUntil } from './wait.js';

export const isRoot = process.getuid?.() === 0;
export const projectRoot = resolve(import.meta.dirname, '..', '..', '..');
export const berthBin = join(projectRoot, 'cli', 'berth');
const BUSYBOX = '/bin/busybox';
/** Where setup.sh builds CRIU when none on PATH passes `criu check`: criu-<version>/criu. */
const SETUP_CRIU_DIR = '/usr/local/lib/berth';

/** The CRIU the tests use: $BERTH_CRIU, else the newest setup.sh built, else `criu` on PATH. */
export function testCriu(): string {
  if (process.env.BERTH_CRIU) return process.env.BERTH_CRIU;
  const built = existsSync(SETUP_CRIU_DIR) ? readdirSync(SETUP_CRIU_DIR).filter((d) => d.startsWith('criu-')) : [];
  const newest = built.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
  return newest ? join(SETUP_CRIU_DIR, newest, 'criu') : 'criu';
}

/** A temp folder for one test file; everything a test makes goes below it. */
export function tempDir(prefix = 'berth-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A busybox rootfs at DIR (made once and shared read-only by the bundles of a test file). HARDLINKS:
 * the applets as hard links, not symlinks (an image's: a file masked by a bind mount over /bin/ls then
 * masks that name only, not /bin/busybox the symlink leads to).
 */
export function makeRootfs(dir: string, hardLinks = false): string {
  if (existsSync(join(dir, 'bin', 'busybox'))) return dir;
  for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp', 'root']) mkdirSync(join(dir, d), { recursive: true });
  cpSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) hardLinks ? linkSync(join(dir, 'bin', 'busybox'), join(dir, 'bin', a)) : symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\n');
  return dir;
}

export type ConfigPatch = (c: ConfigWithProcess) => void;

/** A bundle at DIR using ROOTFS, running ARGS, with berth's default config changed by PATCH. */
export function makeBundle(dir: string, rootfs: string, args: string[], patch?: ConfigPatch): string {
  mkdirSync(dir, { recursive: true });
  const config = defaultSpec();
  config.root.path = rootfs;
  config.process.args = args;
  patch?.(config);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

export function uniqueId(name: string): string {
  return `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

let outputs = 0;

/**
 * Run cli/berth with --root ROOT. Its stdout and stderr go to files, not pipes: a detached
 * container inherits them and would keep a pipe open (and spawnSync waiting) for its whole life.
 */
export function berth(root: string, args: string[], opts: { input?: string; timeout?: number; netns?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const base = join(tmpdir(), `berth-test-out-${process.pid}-${outputs++}`);
  const out = openSync(`${base}.out`, 'w+');
  const err = openSync(`${base}.err`, 'w+');
  // NETNS: the call (and a server it starts) in that network namespace, entered with nsenter.
  const [file, argv] = opts.netns ? ['nsenter', [`--net=${opts.netns}`, berthBin, '--root', root, ...args]] : [berthBin, ['--root', root, ...args]];
  try {
    const r = spawnSync(file, argv, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', out, err], input: opts.input, timeout: opts.timeout ?? 30_000 });
    return { status: r.status, stdout: readFileSync(`${base}.out`, 'utf8'), stderr: readFileSync(`${base}.err`, 'utf8') };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(`${base}.out`);
    rmSync(`${base}.err`);
  }
}

/** Mounts below PATH in this (the host's) mount namespace. */
export function mountsUnder(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === path || m.startsWith(path + '/'));
}

/** Every process in the cgroup TOP and those below it killed, then the folders removed, deepest first; whether TOP is gone. */
export function removeCgroupTree(top: string): boolean {
  const tree: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    tree.push(d);
  };
  walk(top);
  for (const d of tree) {
    for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  for (const d of tree) waitUntil(() => spawnSync('rmdir', [d]).status === 0 || !existsSync(d), 5000);
  return !existsSync(top);
}

/** A network namespace of the test's own: its path, kept by a sleeping process, with lo up. */
export interface NetworkNamespace {
  path: string;
  /** Kill its holder (the namespace goes with it, unless something else holds it); false if it had ended. */
  end(): boolean;
}

export function networkNamespace(): NetworkNamespace {
  // unshare without --fork, then sh's exec: the holder keeps the pid it was spawned with.
  const holder = spawn('unshare', ['--net', '--', 'sh', '-c', 'ip link set lo up && exec sleep infinity'], { stdio: 'ignore' });
  const path = `/proc/${holder.pid}/ns/net`;
  const end = () => holder.exitCode === null && holder.signalCode === null && holder.kill('SIGKILL');
  // Up once it is not this process's namespace (until unshare runs it is) and its lo is up.
  const up = () => {
    try {
      return readlinkSync(path) !== readlinkSync('/proc/self/ns/net') && spawnSync('nsenter', [`--net=${path}`, 'ip', 'link', 'show', 'lo'], { encoding: 'utf8' }).stdout.includes(',UP');
    } catch {
      return false; // not there yet
    }
  };
  if (!waitUntil(up, 5000)) {
    end();
    throw new Error('a network namespace for the test: it did not come up');
  }
  return { path, end };
}

/** cgroup folders for ID's default cgroupsPath left in any hierarchy. */
export function cgroupsLeft(name: string): string[] {
  const found: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const p = join('/sys/fs/cgroup', h, name);
    if (existsSync(p)) found.push(p);
  }
  return found;
}

/** The children of PARENT that have exited and not been reaped. */
export function zombieChildrenOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return state === 'Z' && Number(ppid) === parent;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/** Processes whose root or cwd is below PATH (a leaked container process). */
export function processesIn(path: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return [readlinkSync(`/proc/${p}/root`), readlinkSync(`/proc/${p}/cwd`)].some((l) => l.startsWith(path));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The container ID under ROOT left nothing: no state folder, cgroup, mount under DIR, or process in DIR. */
export function assertNothingLeft(root: string, id: string, dir: string): void {
  assert.not.ok(existsSync(join(root, id)), 'no state folder');
  assert.equal(cgroupsLeft(`berth-${id}`), [], 'no cgroup');
  assert.equal(mountsUnder(dir), [], 'no mount');
  assert.equal(processesIn(dir), [], 'no process');
}

/** The containers' folders under the state root ROOT: berth's own (@server) aside. */
export function containerFolders(root: string): string[] {
  return existsSync(root) ? readdirSync(root).filter((d) => !d.startsWith('@')) : [];
}

/**
 * Remove every container under ROOT (delete -f through the CLI, which kills by recorded pid and
 * cgroup), then the folder itself. Used in after-hooks, so it runs even when a test failed.
 */
export function cleanupRoot(root: string): void {
  if (!existsSync(root)) return;
  for (const id of containerFolders(root)) berth(root, ['delete', '--force', id]);
  stopServer(root);
  rmSync(root, { recursive: true, force: true });
}

/** The pid of the berth server serving ROOT, or null when none does. */
export function serverPid(root: string): number | null {
  try {
    const pid = Number(readFileSync(join(root, '@server', 'pid'), 'utf8'));
    return existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('server') ? pid : null;
  } catch {
    return null;
  }
}

/** Stop ROOT's berth server (started by this test's calls) and wait until it is gone. */
export function stopServer(root: string, signal: NodeJS.Signals = 'SIGTERM'): void {
  const pid = serverPid(root);
  if (pid === null) return;
  process.kill(pid, signal);
  const alive = () => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  for (let i = 0; i < 500 && alive(); i++) spawnSync('sleep', ['0.01']);
  if (alive()) throw new Error(`the berth server ${pid} of ${root} did not stop on ${signal}`);
}

/** What a suite of container tests works in: a temp folder, a state root and a busybox rootfs below it. */
export interface Workspace {
  dir: string;
  root: string;
  rootfs: string;
}

/**
 * A suite's workspace, removed after the suite even when a test failed: BEFORE (closing a Runtime,
 * say), every container, any mount left below it (detached before the folder is removed, so the
 * removal cannot reach through it), then the folder. Mounts left fail the suite.
 */
export function workspace(test: Test, before?: () => unknown): Workspace {
  const dir = isRoot ? tempDir() : '';
  const ws = { dir, root: join(dir, 'state'), rootfs: isRoot ? makeRootfs(join(dir, 'rootfs')) : '' };
  test.after(async () => {
    await before?.();
    if (!isRoot) return;
    cleanupRoot(ws.root);
    const left = mountsUnder(dir);
    for (const m of [...left].reverse()) spawnSync('umount', ['-l', m]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(left, [], 'no mounts left under the test folder');
  });
  return ws;
}

/** R's stdout, after asserting the command WHAT succeeded. */
export function ok(r: ReturnType<typeof berth>, what: string): string {
  assert.is(r.status, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

/** P rejects with a BerthError of KIND whose message is MESSAGE (or matches it). */
export async function rejects(p: Promise<unknown>, kind: BerthError['kind'], message: string | RegExp) {
  try {
    await p;
  } catch (e) {
    assert.instance(e, BerthError);
    assert.is((e as BerthError).kind, kind);
    if (typeof message === 'string') assert.is((e as Error).message, message);
    else assert.match((e as Error).message, message);
    return;
  }
  assert.unreachable(`expected a ${kind} error`);
}
