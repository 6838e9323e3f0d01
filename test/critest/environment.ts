// critest's node, offline, under one temp folder: a process holding a network namespace of its own
// (the node's network: the registry, containerd's stream server, CNI's bridge, host-network pods all
// live in it, not on the host), the registry of stand-in images (images.ts, registry.ts) and a
// private containerd 1.6 with the CRI plugin and one handler per runtime, each a runc shim running
// that runtime's binary with a state root of its own under the folder. stop() removes everything
// the run made, even after a failure: processes by pid, the k8s.io cgroups containerd made (only
// those that were not there before), mounts under the folder, libcni's cache files of its network,
// the shm segments the HostIpc specs make on the host, critest's temp folders of failed specs,
// /run/containerd when the run made it; then the folder.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { criConfig, runContainerdCleanup, stopContainerd } from '../helpers/containerd.js';
import { berth, berthBin, cleanupRoot, mountsUnder, networkNamespace, projectRoot, removeCgroupTree, tempDir, type NetworkNamespace } from '../helpers/fixtures.js';
import { waitUntil } from '../helpers/wait.js';
import { buildImages } from './images.js';

const CNI_BIN = '/usr/lib/cni';
const REGISTRY_PORT = 5000;
/** The hosts critest's images come from: all pulled from the registry instead. */
const MIRRORED = ['registry.k8s.io', 'gcr.io', 'k8s.gcr.io', 'docker.io', 'quay.io'];
/** What critest's specs may leave in /tmp when they fail before their own cleanup. */
const CRITEST_TEMP = /^(podLogTest|seccomp-tests|test[0-9a-f]{64})/;
const LIBCNI_CACHE = '/var/lib/cni/results';

export interface Environment {
  dir: string;
  /** containerd's CRI socket. */
  socket: string;
  /** The node's network namespace (critest runs in it: streaming, host network, port forwarding). */
  netns: string;
  /** The handlers, by name: each one's state root (the shim passes --root <Root>/k8s.io). */
  roots: Record<string, string>;
  /** Stop and remove everything; what it did, a line each. */
  stop(): string[];
}

/** Mount points of cgroup hierarchies (v1 and v2), from this mount namespace's table. */
function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => /^cgroup2?$/.test(f[f.indexOf('-') + 1] ?? ''))
    .map((f) => f[4]!);
}
const k8sCgroups = () => cgroupMounts().map((m) => join(m, 'k8s.io')).filter((p) => existsSync(p));

/** The host's System V shm segments: id, size, creator pid, attaches. */
function shmSegments(): { id: string; size: number; cpid: number; nattch: number }[] {
  return readFileSync('/proc/sysvipc/shm', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 6)
    .map((f) => ({ id: f[1]!, size: Number(f[3]), cpid: Number(f[4]), nattch: Number(f[6]) }));
}

function killAndWait(child: ChildProcess | null): boolean {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return false;
  child.kill('SIGTERM');
  if (!waitUntil(() => child.exitCode !== null || child.signalCode !== null || !existsSync(`/proc/${child.pid}`), 10_000)) child.kill('SIGKILL');
  return true;
}

/** A program compiled from test/critest/NAME.c into BIN, static (it runs in images with no libc). */
function compile(name: string, bin: string): string {
  const out = join(bin, name);
  execFileSync('gcc', ['-static', '-O2', '-o', out, join(projectRoot, 'test', 'critest', `${name}.c`)], { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

/**
 * Debian's dynamic busybox, downloaded (not installed) with apt and unpacked into DIR. The images'
 * /bin/sh must be a shell that runs other programs by exec, as the real busybox image's does; the
 * busybox-static installed here runs its applets inside the shell (see images.ts).
 */
function dynamicBusybox(dir: string): string {
  mkdirSync(dir);
  const download = spawnSync('apt-get', ['download', 'busybox'], { cwd: dir, encoding: 'utf8' });
  const deb = readdirSync(dir).find((f) => f.startsWith('busybox_') && f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download busybox (the images' /bin/sh): ${download.stderr.trim()}`);
  execFileSync('dpkg-deb', ['-x', join(dir, deb), join(dir, 'x')]);
  return join(dir, 'x', 'bin', 'busybox');
}

/** Start the environment in a new temp folder, for RUNTIMES (name → binary); logs go to LOGS. */
export function startEnvironment(runtimes: Record<string, string>, logs: string): Environment {
  const dir = tempDir('berth-critest-');
  // What was there before, so that only what the run makes is removed.
  const removeRunContainerd = runContainerdCleanup();
  const cgroupsBefore = new Set(k8sCgroups());
  const shmBefore = new Set(shmSegments().map((s) => s.id));
  const tmpBefore = new Set(readdirSync('/tmp'));
  const socket = join(dir, 'containerd.sock');
  const network = `berth-critest-${process.pid}`;
  const roots = Object.fromEntries(Object.keys(runtimes).map((r) => [r, join(dir, 'runtime-root', r)]));
  let holder: NetworkNamespace | null = null;
  let registry: ChildProcess | null = null;
  let containerd: ChildProcess | null = null;
  const ctr = (args: string[]) => spawnSync('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { encoding: 'utf8', timeout: 60_000 });
  const logTo = (name: string) => openSync(join(logs, name), 'a');

  const stop = (): string[] => {
    const done: string[] = [];
    const step = (what: string, f: () => unknown) => {
      try {
        const r = f();
        if (r !== false && r !== undefined) done.push(typeof r === 'string' ? r : what);
      } catch (e) {
        done.push(`${what}: FAILED: ${(e as Error).message}`);
      }
    };
    step('stopped containerd, its containers and its shims', () => {
      if (!containerd) return false;
      stopContainerd(containerd, socket, ctr);
      return true;
    });
    step('stopped the registry', () => killAndWait(registry));
    step("stopped the network namespace's holder", () => holder?.end() ?? false);
    if (roots.berth) step("removed berth's containers and stopped its server", () => (cleanupRoot(join(roots.berth!, 'k8s.io')), true));
    for (const c of k8sCgroups().filter((c) => !cgroupsBefore.has(c))) step(`removed cgroup ${c}`, () => removeCgroupTree(c) || `could not remove cgroup ${c}`);
    for (const m of mountsUnder(dir).reverse()) step(`unmounted ${m}`, () => spawnSync('umount', ['-l', m]).status === 0 || `could not unmount ${m}`);
    step("removed libcni's cache files of the network", () => {
      const files = existsSync(LIBCNI_CACHE) ? readdirSync(LIBCNI_CACHE).filter((f) => f.startsWith(`${network}-`)) : [];
      for (const f of files) rmSync(join(LIBCNI_CACHE, f));
      return files.length > 0 && `removed ${files.length} libcni cache files of ${network}`;
    });
    // The HostIpc specs run `ipcmk -M 1048576` on the host and leave the segment: new ones of that
    // size, attached by nothing, whose creator is gone.
    for (const s of shmSegments().filter((s) => !shmBefore.has(s.id) && s.size === 1048576 && s.nattch === 0 && !existsSync(`/proc/${s.cpid}`))) {
      step(`removed shm segment ${s.id}`, () => spawnSync('ipcrm', ['-m', s.id]).status === 0 || `could not remove shm segment ${s.id}`);
    }
    for (const f of readdirSync('/tmp').filter((f) => CRITEST_TEMP.test(f) && !tmpBefore.has(f))) step(`removed /tmp/${f}`, () => (rmSync(join('/tmp', f), { recursive: true, force: true }), true));
    step('removed /run/containerd (the run made it)', () => {
      const there = existsSync('/run/containerd');
      removeRunContainerd();
      return there && !existsSync('/run/containerd');
    });
    step(`removed ${dir}`, () => {
      if (mountsUnder(dir).length > 0) return `kept ${dir}: mounts are left under it`;
      rmSync(dir, { recursive: true, force: true });
      return true;
    });
    return done;
  };

  try {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const store = join(dir, 'registry');
    buildImages(store, join(dir, 'image-work'), {
      fakeNginx: compile('fake-nginx', bin),
      pause: compile('pause', bin),
      nnp: compile('nnp', bin),
      dynamicBusybox: dynamicBusybox(join(dir, 'debs')),
    });
    const cniConf = join(dir, 'cni-conf');
    mkdirSync(cniConf);
    const bridge = { type: 'bridge', bridge: 'critest0', isGateway: true, ipMasq: false, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.99.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'ipam') } };
    writeFileSync(join(cniConf, '10-critest.conflist'), JSON.stringify({ cniVersion: '0.4.0', name: network, plugins: [bridge, { type: 'portmap', capabilities: { portMappings: true } }] }));
    for (const r of Object.values(roots)) mkdirSync(join(r, 'k8s.io'), { recursive: true });
    writeFileSync(
      join(dir, 'config.toml'),
      criConfig({
        dir,
        socket,
        sandboxImage: 'registry.k8s.io/pause:3.6',
        runtimes: Object.fromEntries(Object.entries(runtimes).map(([name, binary]) => [name, { binary, root: roots[name]! }])),
        defaultRuntime: Object.keys(runtimes)[0]!,
        cniBin: CNI_BIN,
        cniConf,
        streamPort: '10010',
        mirrors: { hosts: MIRRORED, endpoint: `http://127.0.0.1:${REGISTRY_PORT}` },
      }),
    );
    holder = networkNamespace();
    const netns = holder.path;
    const inNetns = (cmd: string, args: string[], log: string) => {
      const fd = logTo(log);
      try {
        return spawn('nsenter', [`--net=${netns}`, cmd, ...args], { stdio: ['ignore', fd, fd] });
      } finally {
        closeSync(fd);
      }
    };
    registry = inNetns(process.execPath, [join(import.meta.dirname, 'registry.js'), String(REGISTRY_PORT), store], 'registry.log');
    containerd = inNetns('containerd', ['--config', join(dir, 'config.toml')], 'containerd.log');
    if (!waitUntil(() => ctr(['version']).status === 0, 20_000)) throw new Error(`containerd did not answer (see ${join(logs, 'containerd.log')})`);
    if (!waitUntil(() => readFileSync(join(logs, 'registry.log'), 'utf8').includes('registry on'), 10_000)) throw new Error('the registry did not start');
    // berth's server, started here and in the node's network namespace: not a child of a shim (the
    // subreaper it runs berth under), and host-network containers get the node's network.
    if (roots.berth) {
      const r = berth(join(roots.berth, 'k8s.io'), ['list'], { netns });
      if (r.status !== 0) throw new Error(`${berthBin} list: ${r.stderr}`);
    }
    return { dir, socket, netns, roots, stop };
  } catch (e) {
    for (const line of stop()) console.log(`# cleanup: ${line}`);
    throw e;
  }
}
