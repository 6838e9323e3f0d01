// Kubernetes' path to a runtime: containerd 1.6's CRI plugin, with a runtime handler whose
// BinaryName is cli/berth behind the runc shim, driven over its gRPC socket by the calls the
// kubelet makes (helpers/cri.ts). The test starts a private containerd — config, root, state and
// sockets under a temp folder, pod network namespaces in its state folder — in a network namespace
// of its own, so that the CNI bridge it sets up for pods (Debian's containernetworking-plugins)
// lives there and not on the host. Images are made offline and imported with ctr.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CriClient, ContainerState, mapOf, Mode } from './helpers/cri.js';
import { berth, berthBin, cgroupsLeft, cleanupRoot, containerFolders, isRoot, makeRootfs, mountsUnder, removeCgroupTree, tempDir } from './helpers/fixtures.js';
import { criConfig, runContainerdCleanup, stopContainerd } from './helpers/containerd.js';
import { makeOciArchive } from './helpers/ociImage.js';
import { sleepSync, waitUntil } from './helpers/wait.js';

const test = suite('client: containerd CRI');
const CNI_BIN = '/usr/lib/cni';
const hasTools = ['containerd', 'ctr', 'unshare'].every((t) => spawnSync(t, ['--version']).status === 0) && existsSync(join(CNI_BIN, 'bridge'));
const enabled = isRoot && hasTools;
const dir = enabled ? tempDir('berth-cri-') : '';
const socket = join(dir, 'containerd.sock');
const runtimeRoot = join(dir, 'berth-root');
const root = join(runtimeRoot, 'k8s.io'); // the shim calls the runtime with --root <Root>/<namespace>
const cgroupParent = `berth-cri-${process.pid}`;
const network = `berth-cri-${process.pid}`;
const busybox = 'localhost/berth-busybox:test';
const pause = 'localhost/berth-pause:test';
const removeRunContainerd = runContainerdCleanup();
const cniResults = '/var/lib/cni/results'; // libcni's cache: one file per attachment, removed on teardown
let containerd: ChildProcess | null = null;
let cri: CriClient;
/** The pod sandboxes made: libcni's cache files of each are removed afterwards, should teardown not have. */
const sandboxes = new Set<string>();

const ctr = (args: string[]) => spawnSync('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { encoding: 'utf8', timeout: 60_000 });

function writeConfig(): void {
  const cniConf = join(dir, 'cni-conf');
  mkdirSync(cniConf);
  const bridge = { type: 'bridge', bridge: 'berth0', isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.77.0/24' }]], dataDir: join(dir, 'ipam') } };
  writeFileSync(join(cniConf, '10-berth.conflist'), JSON.stringify({ cniVersion: '0.4.0', name: network, plugins: [bridge, { type: 'loopback' }] }));
  const config = criConfig({ dir, socket, sandboxImage: pause, runtimes: { berth: { binary: berthBin, root: runtimeRoot } }, defaultRuntime: 'berth', cniBin: CNI_BIN, cniConf });
  writeFileSync(join(dir, 'config.toml'), config);
}

test.before(async () => {
  writeConfig();
  // unshare without --fork, and sh's exec: the pid is containerd's. lo up for the stream server's 127.0.0.1.
  containerd = spawn('unshare', ['--net', '--', 'sh', '-c', 'ip link set lo up && exec containerd --config "$0"', join(dir, 'config.toml')], { stdio: ['ignore', 'ignore', 'ignore'] });
  assert.ok(waitUntil(() => ctr(['version']).status === 0, 20_000), 'containerd answers');
  const rootfs = makeRootfs(join(dir, 'rootfs'));
  for (const [ref, cmd] of [[busybox, ['sh']], [pause, ['sleep', '2147483647']]] as const) {
    const work = join(dir, `image-${ref.split(':')[0]!.split('/')[1]}`);
    mkdirSync(work);
    makeOciArchive(rootfs, ref, work, `${work}.tar`, [...cmd]);
    const imported = ctr(['images', 'import', `${work}.tar`]);
    assert.is(imported.status, 0, imported.stderr);
  }
  // Started here, the server is not a child of a shim (the subreaper the shim runs berth under).
  assert.is(berth(root, ['list']).status, 0);
  cri = new CriClient(socket);
});

test.after(() => {
  if (!enabled) return;
  cri?.close();
  stopContainerd(containerd, socket, ctr);
  cleanupRoot(root);
  for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
  for (const c of cgroupsLeft(cgroupParent)) removeCgroupTree(c);
  if (existsSync(cniResults)) for (const f of readdirSync(cniResults).filter((f) => [...sandboxes].some((id) => f.includes(id)))) rmSync(join(cniResults, f));
  removeRunContainerd();
});

const sandboxConfig = (name: string) => ({
  metadata: { name, uid: `${name}-uid`, namespace: 'berth-test', attempt: 0 },
  hostname: name,
  logDirectory: join(dir, 'logs', name),
  linux: { cgroupParent: `/${cgroupParent}`, securityContext: { namespaceOptions: { network: Mode.POD, pid: Mode.CONTAINER, ipc: Mode.POD } } },
});

/** The host pid of a container berth runs for the CRI plugin. */
/** A v1 hierarchy in /proc/self/cgroup that no mount shows (one unmounted lingers until its cgroups go). */
function unmountedHierarchy(): string | undefined {
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8');
  return readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .map((l) => l.split(':')[1] ?? '')
    .find((c) => c && !c.startsWith('name=') && !c.split(',').every((x) => new RegExp(`[ ,]${x}(,|$)`, 'm').test(mounted)));
}

const pidOf = (id: string) => JSON.parse(berth(root, ['state', id]).stdout).pid as number;

test('Version: containerd answers over CRI v1', async () => {
  const v = await cri.call('Version', { version: 'v1' });
  assert.is(v.runtimeName, 'containerd');
  assert.is(v.runtimeApiVersion, 'v1');
});

test('a pod: sandbox on a CNI network, a container joining its namespaces by path, exec, logs, update, stop, removal', async () => {
  const config = sandboxConfig('pod1');
  mkdirSync(config.logDirectory, { recursive: true });
  const { podSandboxId } = (await cri.call('RunPodSandbox', { config })) as { podSandboxId: string };
  sandboxes.add(podSandboxId);
  assert.is(((await cri.call('PodSandboxStatus', { podSandboxId })).status as { state?: number }).state ?? 0, 0, 'SANDBOX_READY');
  const created = (await cri.call('CreateContainer', {
    podSandboxId,
    config: {
      metadata: { name: 'app', attempt: 0 },
      image: { image: busybox },
      command: ['sh', '-c', 'echo started; exec sleep 600'],
      envs: [{ key: 'GREETING', value: 'hello' }],
      logPath: 'app.log',
      // As the kubelet asks by default: a pid namespace of the container's own.
      linux: { securityContext: { namespaceOptions: { network: Mode.POD, pid: Mode.CONTAINER, ipc: Mode.POD } } },
    },
    sandboxConfig: config,
  })) as { containerId: string };
  const containerId = created.containerId;
  await cri.call('StartContainer', { containerId });
  const status = async () => (await cri.call('ContainerStatus', { containerId })).status as { state?: number; exitCode?: number; reason?: string };
  assert.is((await status()).state, ContainerState.RUNNING);

  // Namespaces: network, ipc and uts are the sandbox's (joined by path), mount and pid its own.
  const app = pidOf(containerId);
  const sandbox = pidOf(podSandboxId);
  for (const ns of ['net', 'ipc', 'uts']) assert.is(readlinkSync(`/proc/${app}/ns/${ns}`), readlinkSync(`/proc/${sandbox}/ns/${ns}`), ns);
  for (const ns of ['mnt', 'pid']) assert.is.not(readlinkSync(`/proc/${app}/ns/${ns}`), readlinkSync(`/proc/${sandbox}/ns/${ns}`), ns);

  const exec = (await cri.call('ExecSync', { containerId, cmd: ['sh', '-c', 'hostname; echo $GREETING; ip -4 -o addr show eth0 | awk "{print \\$4}"; echo oops >&2; exit 3'], timeout: 20 })) as { stdout: Buffer; stderr: Buffer; exitCode?: number };
  assert.is(exec.exitCode, 3);
  assert.match(exec.stdout.toString(), /^pod1\nhello\n10\.88\.77\.\d+\/24\n$/, `the sandbox hostname, the env, an address on the CNI bridge: ${exec.stdout}`);
  assert.is(exec.stderr.toString(), 'oops\n');
  assert.ok(waitUntil(() => /stdout F started$/m.test(readFileSync(join(config.logDirectory, 'app.log'), 'utf8'))), 'the CRI log has the output');

  await cri.call('UpdateContainerResources', { containerId, linux: { memoryLimitInBytes: 100 * 2 ** 20, cpuShares: 512 } });
  const cgroup = (h: string, f: string) => readFileSync(`/sys/fs/cgroup/${h}/${cgroupParent}/${containerId}/${f}`, 'utf8').trim();
  assert.is(cgroup('memory', 'memory.limit_in_bytes'), String(100 * 2 ** 20));
  assert.is(cgroup('cpu', 'cpu.shares'), '512');
  // The shim reads the container's cgroup itself; a v1 hierarchy this process is in but nobody
  // mounts (the crun benchmark's hugetlb, lingering) makes its cgroup library fail, for runc too.
  const lingering = unmountedHierarchy();
  if (lingering) console.log(`ContainerStats not checked: this process is in a v1 ${lingering} hierarchy no mount shows`);
  else {
    const { stats } = (await cri.call('ContainerStats', { containerId })) as { stats: { memory?: { workingSetBytes?: { value?: bigint } }; cpu?: { usageCoreNanoSeconds?: { value?: bigint } } } };
    assert.ok(Number(stats.memory?.workingSetBytes?.value ?? 0) > 0, 'ContainerStats: the working set, from the container\'s memory cgroup');
    assert.ok(Number(stats.cpu?.usageCoreNanoSeconds?.value ?? 0) > 0, 'ContainerStats: CPU time, from its cpuacct cgroup');
  }

  await cri.call('StopContainer', { containerId, timeout: 5 });
  const stopped = await status();
  assert.is(stopped.state, ContainerState.EXITED);
  assert.is(stopped.exitCode, 137, 'sleep ignores SIGTERM as pid 1: killed after the grace period');
  await cri.call('RemoveContainer', { containerId });
  await cri.call('StopPodSandbox', { podSandboxId });
  await cri.call('RemovePodSandbox', { podSandboxId });
  assert.equal(containerFolders(root), [], 'no state folder of berth left');
  assert.equal(cgroupsLeft(join(cgroupParent, containerId)), []);
  assert.equal(cgroupsLeft(join(cgroupParent, podSandboxId)), []);
  assert.equal(mountsUnder(join(dir, 'state')).filter((m) => m.includes(podSandboxId) || m.includes(containerId)), [], 'no mount of the pod left');
  assert.equal(existsSync(cniResults) ? readdirSync(cniResults).filter((f) => f.includes(podSandboxId)) : [], [], 'CNI tore the network down');
});

/** A streaming session on URL, from containerd's network namespace (where its stream server listens). */
function stream(url: string, until?: string): { stdout: string; stderr: string; status: { status?: string; reason?: string; details?: { causes?: { message?: string }[] } } | null } {
  const args = [`--net=/proc/${containerd!.pid}/ns/net`, process.execPath, join(import.meta.dirname, 'helpers', 'criStream.js'), url, ...(until ? [until] : [])];
  const r = spawnSync('nsenter', args, { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** A pod sandbox POD with one started container NAME running COMMAND. */
async function podWith(pod: string, name: string, command: string[]): Promise<{ podSandboxId: string; containerId: string }> {
  const config = sandboxConfig(pod);
  mkdirSync(config.logDirectory, { recursive: true });
  const { podSandboxId } = (await cri.call('RunPodSandbox', { config })) as { podSandboxId: string };
  sandboxes.add(podSandboxId);
  const { containerId } = (await cri.call('CreateContainer', {
    podSandboxId,
    config: { metadata: { name, attempt: 0 }, image: { image: busybox }, command, logPath: `${name}.log` },
    sandboxConfig: config,
  })) as { containerId: string };
  await cri.call('StartContainer', { containerId });
  return { podSandboxId, containerId };
}

test('streaming: exec with and without a terminal, and attach to a running container\'s output', async () => {
  const { podSandboxId, containerId } = await podWith('pod2', 'ticker', ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done']);

  const plain = (await cri.call('Exec', { containerId, cmd: ['sh', '-c', 'echo out; echo err >&2; [ -t 1 ] || echo no-tty; exit 4'], stdout: true, stderr: true })) as { url: string };
  const r = stream(plain.url);
  assert.is(r.stdout, 'out\nno-tty\n');
  assert.is(r.stderr, 'err\n');
  assert.is(r.status?.status, 'Failure');
  assert.is(r.status?.details?.causes?.[0]?.message, '4', 'the exit status comes back');

  // With a terminal the stream server wants stdin too (kubectl exec -t goes with -i); nothing is sent on it.
  const tty = (await cri.call('Exec', { containerId, cmd: ['sh', '-c', 'tty; [ -t 1 ] && echo a-tty'], tty: true, stdin: true, stdout: true })) as { url: string };
  const t = stream(tty.url);
  assert.match(t.stdout, /^\/dev\/pts\/\d+\r\na-tty\r\n$/, JSON.stringify(t));
  assert.is(t.status?.status, 'Success');

  const attach = (await cri.call('Attach', { containerId, stdout: true })) as { url: string };
  assert.match(stream(attach.url, 'tick \\d+\\n').stdout, /tick \d+\n/, "the container's own output, live");

  await cri.call('StopContainer', { containerId, timeout: 2 });
  await cri.call('RemoveContainer', { containerId });
  await cri.call('StopPodSandbox', { podSandboxId });
  await cri.call('RemovePodSandbox', { podSandboxId });
  assert.equal(containerFolders(root), []);
});

test("security contexts as the kubelet sends them: a container's user, groups, read-only root, capabilities, no_new_privs and the runtime's default seccomp profile; a privileged container in a privileged pod on the node's network; the node's pid and ipc namespaces, a pod's sysctl", async () => {
  const config = sandboxConfig('pod4');
  mkdirSync(config.logDirectory, { recursive: true });
  const { podSandboxId } = (await cri.call('RunPodSandbox', { config })) as { podSandboxId: string };
  sandboxes.add(podSandboxId);
  const container = async (name: string, securityContext: object, sandbox: object = config, pod = podSandboxId) => {
    const { containerId } = (await cri.call('CreateContainer', {
      podSandboxId: pod,
      config: { metadata: { name, attempt: 0 }, image: { image: busybox }, command: ['sleep', '60'], logPath: `${name}.log`, linux: { securityContext } },
      sandboxConfig: sandbox,
    })) as { containerId: string };
    await cri.call('StartContainer', { containerId });
    return containerId;
  };
  const inside = async (containerId: string, script: string) => {
    const r = (await cri.call('ExecSync', { containerId, cmd: ['sh', '-c', script], timeout: 20 })) as { stdout?: Buffer; stderr?: Buffer; exitCode?: number };
    assert.is(r.exitCode ?? 0, 0, `${script}: ${r.stdout ?? ''}${r.stderr ?? ''}`);
    return String(r.stdout ?? '').trim().split('\n');
  };
  const restricted = await container('restricted', {
    runAsUser: { value: 1000 },
    runAsGroup: { value: 3000 },
    supplementalGroups: [4000],
    readonlyRootfs: true,
    noNewPrivs: true,
    capabilities: { dropCapabilities: ['ALL'], addCapabilities: ['NET_BIND_SERVICE'] },
    namespaceOptions: { network: Mode.POD, pid: Mode.CONTAINER, ipc: Mode.POD },
    seccomp: { profileType: 0 }, // RuntimeDefault: containerd's own profile, compiled by berth
  });
  const [ids, groups, write, caps, nnp, seccomp] = await inside(restricted, 'id -u; id -G; touch /x 2>/dev/null && echo writable || echo read-only; grep CapBnd /proc/self/status | cut -f2; grep NoNewPrivs /proc/self/status | cut -f2; grep ^Seccomp: /proc/self/status | cut -f2');
  // (a non-root user's effective set is empty after execve, as with runc: the bounding set tells)
  assert.equal([ids, groups, write, caps, nnp, seccomp], ['1000', '3000 4000', 'read-only', '0000000000000400', '1', '2']);
  await cri.call('StopContainer', { containerId: restricted, timeout: 1 });
  await cri.call('RemoveContainer', { containerId: restricted });

  // privileged: a privileged pod on the node's network (containerd's own namespace here). No
  // hostname: the kubelet sends none for a host-network pod (its UTS namespace is the node's too,
  // and runc, crun and berth refuse a hostname without a UTS namespace of the container's own).
  const { hostname: _, ...podOnNode } = sandboxConfig('pod5');
  const node = { ...podOnNode, linux: { cgroupParent: `/${cgroupParent}`, securityContext: { namespaceOptions: { network: Mode.NODE, pid: Mode.CONTAINER, ipc: Mode.POD }, privileged: true } } };
  mkdirSync(node.logDirectory, { recursive: true });
  const { podSandboxId: nodePod } = (await cri.call('RunPodSandbox', { config: node })) as { podSandboxId: string };
  sandboxes.add(nodePod);
  const privileged = await container('privileged', { privileged: true, namespaceOptions: { network: Mode.NODE, pid: Mode.CONTAINER, ipc: Mode.POD } }, node, nodePod);
  const [effective, kmsg] = await inside(privileged, 'grep CapEff /proc/self/status | cut -f2; [ -c /dev/kmsg ] && echo host-devices');
  assert.is(effective, /^CapBnd:\s+(\w+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1], "every capability berth itself holds");
  assert.is(kmsg, 'host-devices');
  assert.is(readlinkSync(`/proc/${pidOf(privileged)}/ns/net`), readlinkSync(`/proc/${containerd!.pid}/ns/net`), "the node's network namespace");
  await cri.call('StopContainer', { containerId: privileged, timeout: 1 });
  await cri.call('RemoveContainer', { containerId: privileged });

  // the node's pid and ipc namespaces, and a namespaced sysctl of the pod's own network
  const shared = { ...sandboxConfig('pod6'), linux: { cgroupParent: `/${cgroupParent}`, sysctls: mapOf({ 'net.ipv4.ip_unprivileged_port_start': '80' }), securityContext: { namespaceOptions: { network: Mode.POD, pid: Mode.NODE, ipc: Mode.NODE } } } };
  mkdirSync(shared.logDirectory, { recursive: true });
  const { podSandboxId: sharedPod } = (await cri.call('RunPodSandbox', { config: shared })) as { podSandboxId: string };
  sandboxes.add(sharedPod);
  const onNode = await container('on-node', { namespaceOptions: { network: Mode.POD, pid: Mode.NODE, ipc: Mode.NODE } }, shared, sharedPod);
  const [pidns, ipcns, portStart] = await inside(onNode, 'readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; cat /proc/sys/net/ipv4/ip_unprivileged_port_start');
  assert.equal([pidns, ipcns], [readlinkSync('/proc/self/ns/pid'), readlinkSync('/proc/self/ns/ipc')], "the node's pid and ipc namespaces (this test's)");
  assert.is(portStart, '80', "the pod's sysctl, in its own network namespace");
  await cri.call('StopContainer', { containerId: onNode, timeout: 1 });
  await cri.call('RemoveContainer', { containerId: onNode });
  for (const pod of [podSandboxId, nodePod, sharedPod]) {
    await cri.call('StopPodSandbox', { podSandboxId: pod });
    await cri.call('RemovePodSandbox', { podSandboxId: pod });
  }
  assert.equal(containerFolders(root), []);
});

test('PortForward: a connection to a port of the pod reaches a container listening in the sandbox\'s network namespace', async () => {
  const { podSandboxId, containerId } = await podWith('pod3', 'echo', ['nc', '-ll', '-p', '8080', '-e', 'cat']);
  let r = { data: '', error: '' };
  const errors: string[] = [];
  // The listener may take a moment to come up: a refused dial is the error channel's; try again
  // (a stream URL serves one session).
  for (let i = 0; i < 20 && r.data !== 'hello through the pod\n'; i++) {
    const { url } = (await cri.call('PortForward', { podSandboxId, port: [8080] })) as { url: string };
    const args = [`--net=/proc/${containerd!.pid}/ns/net`, process.execPath, join(import.meta.dirname, 'helpers', 'criPortForward.js'), url, '8080', 'hello through the pod\n'];
    const p = spawnSync('nsenter', args, { encoding: 'utf8', timeout: 30_000 });
    assert.is(p.status, 0, p.stderr);
    r = JSON.parse(p.stdout);
    if (r.data !== 'hello through the pod\n') (errors.push(r.error), sleepSync(200));
  }
  assert.equal(r, { data: 'hello through the pod\n', error: '' }, `echoed by the container (before: ${errors.join('; ')})`);
  await cri.call('StopContainer', { containerId, timeout: 2 });
  await cri.call('RemoveContainer', { containerId });
  await cri.call('StopPodSandbox', { podSandboxId });
  await cri.call('RemovePodSandbox', { podSandboxId });
  assert.equal(containerFolders(root), []);
});

if (enabled) test.run();
else console.log(`client: containerd CRI: skipped (${isRoot ? 'containerd, ctr, unshare or the CNI plugins are missing' : 'needs root'})`);
