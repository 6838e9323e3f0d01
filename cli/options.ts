// runc's command line, as tables: global flags, then a command with its flags and arguments.
// Like runc (urfave/cli), flags may also follow the arguments, except for commands that pass the
// rest of the line on (exec), and `--flag value`, `--flag=value`, `-f value` all work.
import { resolve } from 'node:path';

/**
 * `strings`: the flag may be given again, each value is kept. `path`: a host path, made absolute
 * against the caller's folder (the server runs elsewhere); `-` (stdin) stays.
 */
export type FlagType = 'bool' | 'string' | 'int' | 'strings' | 'path';

export interface FlagSpec {
  names: string[];
  type: FlagType;
  help: string;
  /** Accepted for runc compatibility; berth does not act on it yet (logged at debug level). */
  unused?: boolean;
}

export interface CommandSpec {
  help: string;
  flags: Record<string, FlagSpec>;
  /** Argument names; a trailing `?` marks an optional one, `...` the rest of the line. */
  args: string[];
  /** The arguments end the flags (exec: the command's own flags follow). */
  flagsFirst?: boolean;
}

const flag = (names: string[], type: FlagType, help: string, unused = false): FlagSpec => ({ names, type, help, unused });

export const globalFlags: Record<string, FlagSpec> = {
  root: flag(['root'], 'path', 'root folder for container state (default: /run/opencontainer/containers; for a user, $XDG_RUNTIME_DIR/berth)'),
  log: flag(['log'], 'path', 'append the log to this file (default: stderr)'),
  logFormat: flag(['log-format'], 'string', 'log format: text or json'),
  debug: flag(['debug'], 'bool', 'log debug messages'),
  systemdCgroup: flag(['systemd-cgroup'], 'bool', 'manage cgroups through systemd (refused: berth manages them through cgroupfs)'),
  cgroupManager: flag(['cgroup-manager'], 'string', "crun's: cgroupfs (berth's way), disabled (no cgroup for the container), systemd (refused)"),
  criu: flag(['criu'], 'string', 'the CRIU binary for checkpoint and restore (default: criu on PATH)'),
  rootless: flag(['rootless'], 'string', 'rootless mode', true),
  cgroupVersion: flag(['cgroup-version'], 'int', 'berth: manage cgroups as v1 or v2 (default: v1 where v1 is mounted)'),
  actorHost: flag(['actor-host'], 'string', 'berth: run container actors inline (default) or on a worker pool (with --no-server)'),
  noServer: flag(['no-server'], 'bool', 'berth: handle this call in its own process, not in the berth server (also BERTH_NO_SERVER=1)'),
  version: flag(['version', 'v'], 'bool', 'print the version'),
  help: flag(['help', 'h'], 'bool', 'show help'),
};

const createFlags = {
  bundle: flag(['bundle', 'b'], 'path', 'the bundle folder (default: the current folder)'),
  consoleSocket: flag(['console-socket'], 'path', 'unix socket that receives the terminal master'),
  pidFile: flag(['pid-file'], 'path', 'write the container process pid to this file'),
  noPivot: flag(['no-pivot'], 'bool', 'use MS_MOVE and chroot instead of pivot_root'),
  noNewKeyring: flag(['no-new-keyring'], 'bool', 'do not create a session keyring'),
  preserveFds: flag(['preserve-fds'], 'int', 'hand fds 3..3+N-1 to the container'),
  pidfdSocket: flag(['pidfd-socket'], 'path', 'unix socket that receives a pidfd of the container process'),
  dryRun: flag(['dry-run'], 'bool', 'berth: print the plan the container process would execute, and change nothing'),
};

/** runc's flags that CRIU acts on, in checkpoint and restore alike. */
const criuFlags = {
  imagePath: flag(['image-path'], 'path', 'the checkpoint\'s image folder (default: ./checkpoint)'),
  workPath: flag(['work-path'], 'path', 'where CRIU writes its log and work files (default: the image folder)'),
  tcpEstablished: flag(['tcp-established'], 'bool', 'allow open TCP connections'),
  extUnixSk: flag(['ext-unix-sk'], 'bool', 'allow unix sockets connected outside the container'),
  shellJob: flag(['shell-job'], 'bool', 'allow a process that belongs to a shell job'),
  fileLocks: flag(['file-locks'], 'bool', 'handle file locks'),
  manageCgroupsMode: flag(['manage-cgroups-mode'], 'string', 'soft, full, strict or ignore (default: CRIU\'s, soft)'),
};

export const commands: Record<string, CommandSpec> = {
  create: { help: 'create a container (its program waits for start)', flags: createFlags, args: ['ID'] },
  start: {
    help: 'run the program of a created container',
    flags: { restart: flag(['restart'], 'bool', 'berth: start a stopped container again, in the namespaces its stop kept') },
    args: ['ID'],
  },
  stop: {
    help: 'berth: stop every process of a container (SIGTERM, then SIGKILL), keeping the container',
    flags: { timeout: flag(['timeout', 't'], 'int', 'seconds between SIGTERM and SIGKILL (default 10)') },
    args: ['ID'],
  },
  run: {
    help: 'create and start a container; in the foreground, wait for it and delete it',
    flags: {
      ...createFlags,
      detach: flag(['detach', 'd'], 'bool', 'do not wait for the container'),
      keep: flag(['keep'], 'bool', 'keep the container (stopped) after it exits'),
      noSubreaper: flag(['no-subreaper'], 'bool', 'do not become a subreaper', true),
    },
    args: ['ID'],
  },
  state: { help: 'print the OCI state of a container', flags: {}, args: ['ID'] },
  kill: { help: 'send a signal (default SIGTERM) to a container', flags: { all: flag(['all', 'a'], 'bool', 'signal every process of the container') }, args: ['ID', 'SIGNAL?'] },
  delete: { help: 'delete a stopped container', flags: { force: flag(['force', 'f'], 'bool', 'kill the container first if it runs') }, args: ['ID'] },
  list: {
    help: 'list containers',
    flags: { format: flag(['format', 'f'], 'string', 'table or json'), quiet: flag(['quiet', 'q'], 'bool', 'print ids only') },
    args: [],
  },
  spec: { help: 'write a default config.json', flags: { bundle: flag(['bundle', 'b'], 'path', 'the bundle folder'), rootless: flag(['rootless'], 'bool', "a config for a user's (rootless) berth: the user's uid and gid are root in a user namespace") }, args: [] },
  features: { help: 'print the OCI features this build supports', flags: {}, args: [] },
  statechart: { help: 'berth: print the container lifecycle statechart', flags: {}, args: [] },
  server: {
    help: 'berth: serve CLI calls for this state root in the foreground (the first call starts one when none runs)',
    flags: { idle: flag(['idle'], 'int', 'exit after this many seconds without a call (default: $BERTH_SERVER_IDLE, else 60; 0: never)') },
    args: [],
  },
  pause: { help: 'freeze every process of a running container', flags: {}, args: ['ID'] },
  resume: { help: 'thaw a paused container', flags: {}, args: ['ID'] },
  unpause: { help: 'the same as resume', flags: {}, args: ['ID'] },
  ps: {
    help: "the container's processes: host ps lines (default args -ef), or their pids as JSON",
    flags: { format: flag(['format', 'f'], 'string', 'table or json') },
    args: ['ID', 'PS_ARGS...'],
    flagsFirst: true,
  },
  events: {
    help: "a live container's resource use (JSON lines, every interval) and OOM kills, until it stops",
    flags: { interval: flag(['interval'], 'string', 'time between stats, e.g. 5s, 500ms (default 5s)'), stats: flag(['stats'], 'bool', 'print the stats once and exit') },
    args: ['ID'],
  },
  update: {
    help: "change a live container's resource limits",
    flags: {
      resources: flag(['resources', 'r'], 'path', 'a linux.resources JSON file (- for stdin); the flags below then do not apply'),
      memory: flag(['memory'], 'string', 'memory limit in bytes (k, m, g suffixes; -1 for none)'),
      memorySwap: flag(['memory-swap'], 'string', 'memory+swap limit in bytes (-1 for none)'),
      memoryReservation: flag(['memory-reservation'], 'string', 'memory soft limit in bytes'),
      kernelMemory: flag(['kernel-memory'], 'string', 'kernel memory limit in bytes (v1 kernels that still have it)'),
      kernelMemoryTcp: flag(['kernel-memory-tcp'], 'string', 'kernel TCP buffer limit in bytes (v1 kernels that still have it)'),
      cpuShares: flag(['cpu-share', 'cpu-shares'], 'string', 'CPU shares (relative weight)'),
      cpuQuota: flag(['cpu-quota'], 'string', 'CFS quota in microseconds per period (-1 for none)'),
      cpuPeriod: flag(['cpu-period'], 'string', 'CFS period in microseconds'),
      cpuBurst: flag(['cpu-burst'], 'string', 'CFS burst in microseconds'),
      cpuRtPeriod: flag(['cpu-rt-period'], 'string', 'realtime period in microseconds'),
      cpuRtRuntime: flag(['cpu-rt-runtime'], 'string', 'realtime runtime in microseconds per period'),
      cpuIdle: flag(['cpu-idle'], 'string', '1: SCHED_IDLE for the whole cgroup, 0: normal'),
      cpusetCpus: flag(['cpuset-cpus'], 'string', 'CPUs to run on, e.g. 0-3,7'),
      cpusetMems: flag(['cpuset-mems'], 'string', 'memory nodes to use, e.g. 0'),
      pidsLimit: flag(['pids-limit'], 'string', 'most processes at once (-1 for none)'),
      blkioWeight: flag(['blkio-weight'], 'string', 'block I/O weight, 10..1000'),
      l3CacheSchema: flag(['l3-cache-schema'], 'string', 'Intel RDT L3 cache schema (refused: see linux.intelRdt)'),
      memBwSchema: flag(['mem-bw-schema'], 'string', 'Intel RDT memory bandwidth schema (refused: see linux.intelRdt)'),
    },
    args: ['ID'],
  },
  checkpoint: {
    help: 'dump a running container with CRIU (it stops, unless --leave-running)',
    flags: {
      ...criuFlags,
      leaveRunning: flag(['leave-running'], 'bool', 'keep the container running after the dump'),
      preDump: flag(['pre-dump'], 'bool', 'dump memory only; the container keeps running'),
      parentPath: flag(['parent-path'], 'string', 'a pre-dump\'s images, relative to the image path'),
      emptyNs: flag(['empty-ns'], 'strings', 'a namespace (network, ...) restored empty'),
    },
    args: ['ID'],
  },
  restore: {
    help: 'a new container from a checkpoint, running; in the foreground, wait for it and delete it',
    flags: {
      ...criuFlags,
      bundle: createFlags.bundle,
      detach: flag(['detach', 'd'], 'bool', 'do not wait for the container'),
      pidFile: createFlags.pidFile,
      consoleSocket: createFlags.consoleSocket,
      noPivot: flag(['no-pivot'], 'bool', 'CRIU restores the root itself: accepted for runc compatibility', true),
      noSubreaper: flag(['no-subreaper'], 'bool', 'do not become a subreaper', true),
    },
    args: ['ID'],
  },
  exec: {
    help: 'run a new process in a running container',
    flags: {
      process: flag(['process', 'p'], 'path', 'the whole process as JSON (runtime-spec process); the flags below then do not apply'),
      tty: flag(['tty', 't'], 'bool', 'give the process a terminal'),
      consoleSocket: flag(['console-socket'], 'path', 'unix socket that receives the terminal master'),
      detach: flag(['detach', 'd'], 'bool', 'do not wait for the process'),
      pidFile: flag(['pid-file'], 'path', 'write the process pid to this file'),
      cwd: flag(['cwd'], 'string', 'working directory in the container'),
      env: flag(['env', 'e'], 'strings', 'KEY=VALUE added to the environment'),
      user: flag(['user', 'u'], 'string', 'UID[:GID]'),
      additionalGids: flag(['additional-gids', 'g'], 'strings', 'an additional group'),
      cap: flag(['cap', 'c'], 'strings', 'a capability added to the process'),
      noNewPrivs: flag(['no-new-privs'], 'bool', 'set no_new_privs'),
      preserveFds: flag(['preserve-fds'], 'int', 'hand fds 3..3+N-1 to the process'),
      ignorePaused: flag(['ignore-paused'], 'bool', 'exec into a paused container'),
      apparmor: flag(['apparmor'], 'string', 'AppArmor profile (applied where the host has AppArmor)'),
      processLabel: flag(['process-label'], 'string', 'SELinux label (applied where the host has SELinux)'),
      cgroup: flag(['cgroup'], 'string', 'a cgroup below the container\'s to run in: PATH, or CONTROLLER[,CONTROLLER]:PATH'),
      pidfdSocket: flag(['pidfd-socket'], 'path', 'unix socket that receives a pidfd of the process'),
    },
    args: ['ID', 'COMMAND...'],
    flagsFirst: true,
  },
};

export type Values = Record<string, string | number | boolean | string[]>;

export interface CommandLine {
  global: Values;
  command: string | null;
  flags: Values;
  args: Record<string, string>;
  /** What a `...` argument took: the rest of the line. */
  rest: string[];
  /** Flags given that berth accepts but does not act on yet. */
  unused: string[];
}

export class UsageError extends Error {}

function lookup(specs: Record<string, FlagSpec>, name: string): [string, FlagSpec] | undefined {
  return Object.entries(specs).find(([, s]) => s.names.includes(name));
}

/** Parse the flags in ARGS against SPECS (paths made absolute against CWD); returns the values and what is left. */
function parseFlags(args: string[], specs: Record<string, FlagSpec>, unused: string[], reorder: boolean, cwd: string): { values: Values; rest: string[] } {
  const values: Values = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      if (!reorder) {
        rest.push(...args.slice(i));
        break;
      }
      rest.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const found = lookup(specs, name);
    if (!found) throw new UsageError(`flag provided but not defined: -${name}`);
    const [key, spec] = found;
    let value: string | boolean;
    if (spec.type === 'bool') {
      const text = eq < 0 ? 'true' : body.slice(eq + 1);
      if (text !== 'true' && text !== 'false') throw new UsageError(`invalid boolean value "${text}" for -${name}`);
      value = text === 'true';
    } else {
      if (eq >= 0) value = body.slice(eq + 1);
      else if (i + 1 < args.length) value = args[++i]!;
      else throw new UsageError(`flag needs an argument: -${name}`);
    }
    if (spec.type === 'int') {
      if (!/^-?\d+$/.test(value as string)) throw new UsageError(`invalid value "${value}" for flag -${name}: not an integer`);
      values[key] = Number(value);
    } else if (spec.type === 'strings') values[key] = [...((values[key] as string[]) ?? []), value as string];
    else if (spec.type === 'path') values[key] = value === '-' ? value : resolve(cwd, value as string);
    else values[key] = value;
    if (spec.unused) unused.push(`--${spec.names[0]}`);
  }
  return { values, rest };
}

export function parseCommandLine(argv: string[], cwd = process.cwd()): CommandLine {
  const unused: string[] = [];
  const { values: global, rest: line } = parseFlags(argv, globalFlags, unused, false, cwd);
  const [command, ...commandArgs] = line;
  if (!command) return { global, command: null, flags: {}, args: {}, rest: [], unused };
  const spec = commands[command];
  if (!spec) throw new UsageError(`unknown command "${command}" (berth --help lists them)`);
  // Every command takes --help, as runc's do (podman asks `checkpoint --help` to learn whether checkpoint exists).
  const { values: flags, rest: all } = parseFlags(commandArgs, { ...spec.flags, help: globalFlags.help! }, unused, !spec.flagsFirst, cwd);
  if (flags.help) return { global, command, flags, args: {}, rest: [], unused };
  const variadic = spec.args.at(-1)?.endsWith('...') ?? false;
  const named = variadic ? spec.args.slice(0, -1) : spec.args;
  const positional = variadic ? all.slice(0, named.length) : all;
  const rest = variadic ? all.slice(named.length) : [];
  const args: Record<string, string> = {};
  const required = named.filter((a) => !a.endsWith('?')).length;
  if (positional.length < required || positional.length > named.length) {
    const usage = named.map((a) => (a.endsWith('?') ? `[${a.slice(0, -1)}]` : a)).join(' ');
    throw new UsageError(`"${command}" requires ${usage ? `arguments: ${usage}` : 'no arguments'}, got ${positional.length}`);
  }
  named.forEach((a, i) => {
    if (positional[i] !== undefined) args[a.replace('?', '')] = positional[i]!;
  });
  return { global, command, flags, args, rest, unused };
}

const flagLines = (specs: Record<string, FlagSpec>) =>
  Object.values(specs)
    .filter((s) => !s.unused)
    .map((s) => `   ${s.names.map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(', ').padEnd(22)} ${s.help}`);

/** `berth COMMAND --help`: what the command does, its arguments and its flags. */
export function commandHelpText(command: string): string {
  const c = commands[command]!;
  const lines = [`berth ${command}: ${c.help}`, '', `usage: berth [global flags] ${command} [flags] ${c.args.join(' ')}`.trimEnd()];
  const flags = flagLines(c.flags);
  if (flags.length) lines.push('', 'flags:', ...flags);
  return lines.join('\n') + '\n';
}

export function helpText(): string {
  const lines = ['berth: an OCI container runtime', '', 'usage: berth [global flags] COMMAND [flags] [arguments]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`   ${`${name} ${c.args.join(' ')}`.padEnd(22)} ${c.help}`);
  lines.push('', 'global flags:', ...flagLines(globalFlags));
  return lines.join('\n') + '\n';
}
