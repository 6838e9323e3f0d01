// The message API: what the CLI sends and what a Node program sends are the same objects.
import type { Status } from '../machines/container.js';
import type { Stats } from '../native/cgroups/stats.js';
import type { Config, Resources } from '../native/spec/config.js';
import type { Features } from '../native/spec/features.js';
import type { HookOutcome } from './hookRunner.js';
import type { OciState } from './stateStore.js';

/**
 * The container's stdin, stdout, stderr: fds of this process, or 'inherit' (this process's own), or
 * 'ignore'. Fds after the third are its preserved fds 3... (this process's own 3... when absent).
 */
export type Stdio = 'inherit' | 'ignore' | [number | 'ignore', number | 'ignore', number | 'ignore', ...number[]];

export interface CreateOptions {
  id: string;
  /** The bundle folder; the current directory when absent. */
  bundle?: string;
  pidFile?: string;
  /** A unix socket the container process's pidfd is sent to once it is created (runc's --pidfd-socket). */
  pidfdSocket?: string;
  stdio?: Stdio;
  /** Hand fds 3..3+N-1 of this process to the container at the same numbers. */
  preserveFds?: number;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** With process.terminal: send the pty master to the unix socket at this path (runc's protocol). */
  consoleSocket?: string;
  /** With process.terminal and no console socket: hand the pty master back, as a `terminal` event and in the result. */
  returnTerminal?: boolean;
}

/** A new process in a running container (runc's exec). */
export interface ExecOptions {
  id: string;
  /** A whole process (runc's --process file): the fields below then do not apply. */
  process?: unknown;
  /** The program and its arguments; the container's own when absent. */
  args?: string[];
  /** Added to the container's environment (a KEY given again replaces it). */
  env?: string[];
  cwd?: string;
  user?: { uid: number; gid?: number; additionalGids?: number[] };
  /** Added to every capability set but the inheritable one (runc's --cap). */
  capabilities?: string[];
  noNewPrivileges?: boolean;
  /** The process's AppArmor profile and SELinux label (runc's --apparmor, --process-label). */
  apparmorProfile?: string;
  selinuxLabel?: string;
  /**
   * A cgroup below the container's to run in (runc's --cgroup): `path` for every hierarchy, or
   * `controller[,controller]:path` for those hierarchies only. It must exist.
   */
  subCgroup?: string;
  /** A unix socket the process's pidfd is sent to (runc's --pidfd-socket). */
  pidfdSocket?: string;
  tty?: boolean;
  consoleSocket?: string;
  returnTerminal?: boolean;
  /** Do not wait for the process to exit. */
  detach?: boolean;
  pidFile?: string;
  preserveFds?: number;
  /** Exec into a paused container (the process stays frozen until it is resumed). */
  ignorePaused?: boolean;
  stdio?: Stdio;
}

/** runc's flags that CRIU acts on in both directions. */
export interface CriuOptions {
  /** The checkpoint's image folder. */
  imagePath: string;
  /** CRIU's log and work files; the image folder when absent. */
  workPath?: string;
  tcpEstablished?: boolean;
  /** Allow unix sockets connected outside the container. */
  extUnixSk?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  manageCgroupsMode?: 'soft' | 'full' | 'strict' | 'ignore';
}

/** Dump a running container with CRIU (runc's checkpoint). */
export interface CheckpointOptions extends CriuOptions {
  id: string;
  /** Keep the container running after the dump. */
  leaveRunning?: boolean;
  /** Dump memory only; the container keeps running (a later dump names these images with parentPath). */
  preDump?: boolean;
  /** A pre-dump's images, relative to imagePath. */
  parentPath?: string;
  /** Namespaces (config.json's names) restored empty. */
  emptyNs?: string[];
}

/** A new container from a checkpoint (runc's restore): the bundle's config, the images' processes. */
export interface RestoreOptions extends CriuOptions {
  id: string;
  bundle?: string;
  pidFile?: string;
  /** Where stdio that led outside the checkpointed container now leads. */
  stdio?: Stdio;
  consoleSocket?: string;
  returnTerminal?: boolean;
  /** No one will wait for the restored process here: a runtime that leaves such processes to its caller's subreaper (reapDetached false) does not reap it. */
  detach?: boolean;
}

export type Message =
  | ({ type: 'create' } & CreateOptions)
  /** restart: start a stopped container again (the seed's), in the namespaces its stop kept. */
  | { type: 'start'; id: string; restart?: boolean; stdio?: Stdio }
  /** Stop every process (SIGTERM, SIGKILL after timeout seconds, default 10), keeping the container. */
  | { type: 'stop'; id: string; timeout?: number }
  | { type: 'state'; id: string }
  | { type: 'kill'; id: string; signal?: string | number; all?: boolean }
  | { type: 'delete'; id: string; force?: boolean }
  /** create + start, and for a foreground run wait and delete (unless `keep`: runc's --keep). */
  | ({ type: 'run'; detach?: boolean; keep?: boolean } & CreateOptions)
  | ({ type: 'exec' } & ExecOptions)
  | { type: 'wait'; id: string }
  | ({ type: 'checkpoint' } & CheckpointOptions)
  | ({ type: 'restore' } & RestoreOptions)
  | { type: 'list' }
  /** Freeze every process of a running container; resume thaws them. */
  | { type: 'pause'; id: string }
  | { type: 'resume'; id: string }
  /** New limits for a live container: linux.resources fields, merged into the recorded ones. */
  | { type: 'update'; id: string; resources: Resources }
  /** The host pids of the container's processes. */
  | { type: 'ps'; id: string }
  /** The container's resource use now. */
  | { type: 'stats'; id: string }
  /**
   * Watch a live container: `stats` events every interval (ms, default 5000) and `oom` events,
   * until its process is gone or SIGNAL aborts.
   */
  | { type: 'events'; id: string; interval?: number; signal?: AbortSignal }
  /** Compile the create without doing it: the exact plan berth-init would execute. */
  | ({ type: 'plan' } & CreateOptions)
  /** The lifecycle statechart, as text. */
  | { type: 'statechart' }
  /** A default config.json; with ROOTLESS, one for a user's berth whose uid and gid are these. */
  | { type: 'spec'; rootless?: { uid: number; gid: number } }
  | { type: 'features' };

export interface ProcessExit {
  id: string;
  pid: number;
  /** An exec'd process, not the container's own. */
  exec: boolean;
  /** Exit status if the process exited, else null. */
  exitCode: number | null;
  /** The signal that killed it, else null. */
  signal: number | null;
}

export interface Results {
  /** terminal: the pty master, when returnTerminal asked for it (the caller owns the fd). */
  create: { id: string; pid: number; terminal?: number };
  start: { id: string; pid: number };
  stop: { id: string };
  state: OciState;
  kill: { id: string };
  delete: { id: string };
  /** With `detach`, exit is null: the container goes on running. */
  run: { id: string; pid: number; exit: ProcessExit | null };
  wait: ProcessExit;
  /** With `detach`, exit is null. */
  exec: { id: string; pid: number; exit: ProcessExit | null };
  list: OciState[];
  pause: { id: string };
  resume: { id: string };
  /** The container's resources as now recorded. */
  update: { id: string; resources: Resources };
  ps: { id: string; pids: number[] };
  stats: Stats;
  /** When the watch ended: how many OOM kills it saw. */
  events: { id: string; oomKills: number };
  /** status: stopped after a dump, running after --leave-running or a pre-dump (paused stays paused). */
  checkpoint: { id: string; status: Status };
  /** terminal: the pty master, when returnTerminal asked for it (the caller owns the fd). */
  restore: { id: string; pid: number; terminal?: number };
  plan: { id: string; stateDir: string; cgroupDirs: string[]; steps: { op: string; what: string; args: string[] }[] };
  statechart: string;
  spec: Config;
  features: Features;
}

export type ResultOf<M extends Message> = Results[M['type']];

export type RuntimeEvent =
  | { type: 'state'; id: string; status: Status | 'deleted'; pid: number }
  /** An exec'd process started. */
  | { type: 'exec'; id: string; pid: number }
  /** A terminal's master handed back (returnTerminal): the receiver owns the fd. */
  | { type: 'terminal'; id: string; pid: number; fd: number }
  | ({ type: 'exit' } & ProcessExit)
  /** A hook ran: which, how long, how it ended. */
  | ({ type: 'hook' } & HookOutcome)

  /** A watched container's resource use (an `events` message watches). */
  | { type: 'stats'; id: string; data: Stats }
  /** The kernel's OOM killer killed a process in a watched container. */
  | { type: 'oom'; id: string };
