// The tests' private containerds: the CRI plugin's config, and what they leave to clean up.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from './wait.js';

/** The runc shims a containerd at SOCKET started: found by the address they were given, to be stopped by pid. */
export function shimsOf(socket: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv[0]?.endsWith('containerd-shim-runc-v2') && argv.includes(socket);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/**
 * Stop the private containerd DAEMON at SOCKET: its containers (through CTR, the test's ctr in its
 * namespace), its shims, then itself — all by pid.
 */
export function stopContainerd(daemon: ChildProcess | null, socket: string, ctr: (args: string[]) => { stdout: string }): void {
  for (const c of ctr(['containers', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
    ctr(['tasks', 'kill', '-s', 'KILL', c]);
    ctr(['tasks', 'delete', '--force', c]);
    ctr(['containers', 'rm', c]);
  }
  for (const pid of shimsOf(socket)) process.kill(pid, 'SIGKILL');
  if (!daemon?.pid) return;
  process.kill(daemon.pid, 'SIGTERM');
  if (!waitUntil(() => daemon.exitCode !== null || daemon.signalCode !== null, 10_000)) process.kill(daemon.pid, 'SIGKILL');
}

/**
 * containerd 1.6's runc shims keep their sockets, and ctr its fifos, under /run/containerd whatever
 * the config says. Call before the test; the function it returns removes the folder if the test made it.
 */
export function runContainerdCleanup(): () => void {
  const made = !existsSync('/run/containerd');
  // Killed shims leave their sockets in it: removed whole, since nothing was there before.
  return () => made && rmSync('/run/containerd', { recursive: true, force: true });
}

/** A runtime handler of the CRI plugin: a runc-shim (io.containerd.runc.v2) running BINARY with its state under ROOT. */
export interface CriRuntime {
  binary: string;
  root: string;
}

/** What a private containerd with the CRI plugin on needs: everything under DIR. */
export interface CriConfig {
  dir: string;
  socket: string;
  sandboxImage: string;
  runtimes: Record<string, CriRuntime>;
  defaultRuntime: string;
  cniBin: string;
  cniConf: string;
  /** The stream server's port on 127.0.0.1 ("0": any). */
  streamPort?: string;
  /** Registries (by host) pulled from ENDPOINT instead: an offline registry standing in for them. */
  mirrors?: { hosts: string[]; endpoint: string };
  /** containerd's log level, when not its default. */
  logLevel?: string;
}

/**
 * The config.toml of a private containerd 1.6 with the CRI plugin: root, state and sockets under
 * DIR, cgroupfs, one runc-shim handler per runtime, CNI from CNICONF. Two settings any runtime
 * needs on these machines: restrict_oom_score_adj (no CAP_SYS_RESOURCE for the pause container's
 * -998) and pod network namespaces in the state folder (not /run/netns).
 */
export function criConfig(c: CriConfig): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    'version = 2',
    `root = "${join(c.dir, 'root')}"`,
    `state = "${join(c.dir, 'state')}"`,
    `[grpc]\n  address = "${c.socket}"`,
    `[ttrpc]\n  address = "${c.socket}.ttrpc"`,
    `[debug]\n  address = "${join(c.dir, 'debug.sock')}"${c.logLevel ? `\n  level = "${c.logLevel}"` : ''}`,
    `[${cri}]`,
    `  sandbox_image = "${c.sandboxImage}"`,
    '  stream_server_address = "127.0.0.1"',
    `  stream_server_port = "${c.streamPort ?? '0'}"`,
    '  enable_selinux = false',
    '  disable_apparmor = true',
    '  restrict_oom_score_adj = true',
    '  netns_mounts_under_state_dir = true',
    `[${cri}.containerd]`,
    `  default_runtime_name = "${c.defaultRuntime}"`,
    ...Object.entries(c.runtimes).flatMap(([name, r]) => [
      `[${cri}.containerd.runtimes.${name}]`,
      '  runtime_type = "io.containerd.runc.v2"',
      `[${cri}.containerd.runtimes.${name}.options]`,
      `  BinaryName = "${r.binary}"`,
      `  Root = "${r.root}"`,
      '  SystemdCgroup = false',
    ]),
    `[${cri}.cni]`,
    `  bin_dir = "${c.cniBin}"`,
    `  conf_dir = "${c.cniConf}"`,
    '  max_conf_num = 1',
    ...(c.mirrors?.hosts ?? []).flatMap((h) => [`[${cri}.registry.mirrors."${h}"]`, `  endpoint = ["${c.mirrors!.endpoint}"]`]),
  ].join('\n') + '\n';
}
