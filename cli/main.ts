// berth's command line: parse, send one message, print. Everything else lives behind the Runtime.
// A call runs here (`--no-server`) or in the berth server, for the native client (cli/client): the
// same code either way, with the call's folder, output, stdin, signals and terminal behind CallIO.
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Runtime, type ExecOptions, type ProcessExit, type Resources } from '../actors/runtime.js';
import { createLogger, type LogOptions } from '../actors/log.js';
import type { CriuOptions } from '../actors/messages.js';
import type { OciState } from '../actors/stateStore.js';
import { BerthError } from '../native/errors.js';
import { VERSION } from '../native/version.js';
import { defaultRoot, OCI_VERSION } from '../actors/stateStore.js';
import { readJsonFile } from './jsonFile.js';
import { commandHelpText, helpText, parseCommandLine, UsageError, type CommandLine } from './options.js';
import type { Proxy } from './terminal.js';
import type { ProcessParent } from '../native/processParent.js';
import type { Stdio } from '../actors/messages.js';

/** Where one call's inputs and outputs are: this process's own, or a CLI process's that the server serves. */
export interface CallIO {
  /** The caller's working folder: relative paths are relative to it. */
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of the caller's stdin. */
  readStdin(): Promise<Buffer>;
  /** The caller's stdio and its fds 3..3+PRESERVE-1, as the container's. */
  stdio(preserve: number): Stdio;
  /** Whose children containers become, and who waits for them (absent: this process). */
  parent?: ProcessParent;
  /** From now on, the signals a foreground call forwards go to HANDLER. */
  onSignal(handler: (signal: (typeof forwarded)[number]) => void): void;
  /** Aborted when the caller has gone (a server's call; a process of its own ends with its caller). */
  callerGone?: AbortSignal;
  /** Proxy the caller's terminal to a container's pty master (which the proxy then owns). */
  proxyTerminal(master: number): Promise<Proxy>;
  /** The state root a server serves: a call without --root is that root's (the client chose it). */
  root?: string;
}

export const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;

function table(states: OciState[]): string {
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('')).join('\n');
}

/** Forward the signals a foreground `run` receives to the container, as runc does. */
function forwardSignals(io: CallIO, rt: Runtime, id: string): void {
  io.onSignal((sig) => void rt.kill(id, sig).catch(() => {}));
}

/** A foreground exec: signals go to the exec'd process, once it exists. */
function forwardSignalsToExec(io: CallIO, rt: Runtime, id: string): void {
  let pid = 0;
  rt.on((e) => {
    if (e.type === 'exec' && e.id === id) pid = e.pid;
  });
  io.onSignal((sig) => pid && process.kill(pid, sig));
}

/** Proxy the caller's terminal to a container's pty when one comes back for ID. */
function attachTerminal(io: CallIO, rt: Runtime, id: string): { proxy?: Promise<Proxy> } {
  const attached: { proxy?: Promise<Proxy> } = {};
  rt.on((e) => {
    if (e.type === 'terminal' && e.id === id) attached.proxy = io.proxyTerminal(e.fd);
  });
  return attached;
}

/** After the process exited: the rest of its terminal output, then berth's terminal back as it was. */
async function detachTerminal(attached: { proxy?: Promise<Proxy> }): Promise<void> {
  const proxy = await attached.proxy;
  if (!proxy) return;
  await Promise.race([proxy.drained, new Promise((r) => setTimeout(r, 1000))]);
  proxy.stop();
}

const exitStatus = (exit: ProcessExit | null) => (exit ? (exit.exitCode ?? 128 + (exit.signal ?? 0)) : 0);

/** runc's --user: UID[:GID], numbers. */
function parseUser(text: string, groups: string[] | undefined): ExecOptions['user'] {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) throw new UsageError(`invalid --user "${text}": UID[:GID], as numbers`);
  const additionalGids = groups?.map((g) => {
    if (!/^\d+$/.test(g)) throw new UsageError(`invalid --additional-gids "${g}": a number`);
    return Number(g);
  });
  return { uid: Number(m[1]), gid: m[2] === undefined ? undefined : Number(m[2]), additionalGids };
}

/** The flags checkpoint and restore share (the mapping to CRIU's options checks them). */
function criuOptions(flags: CommandLine['flags'], cwd: string) {
  return {
    imagePath: (flags.imagePath as string | undefined) ?? join(cwd, 'checkpoint'),
    workPath: flags.workPath as string | undefined,
    tcpEstablished: flags.tcpEstablished as boolean | undefined,
    extUnixSk: flags.extUnixSk as boolean | undefined,
    shellJob: flags.shellJob as boolean | undefined,
    fileLocks: flags.fileLocks as boolean | undefined,
    manageCgroupsMode: flags.manageCgroupsMode as CriuOptions['manageCgroupsMode'],
  };
}

async function execute(cl: CommandLine, rt: Runtime, io: CallIO): Promise<number> {
  const { flags, args } = cl;
  const id = args.ID!;
  const print = (text: string) => io.stdout(text.endsWith('\n') ? text : text + '\n');
  const stdio = () => io.stdio((flags.preserveFds as number | undefined) ?? 0);
  const createOptions = () => ({
    id,
    bundle: (flags.bundle as string | undefined) ?? io.cwd,
    pidFile: flags.pidFile as string | undefined,
    pidfdSocket: flags.pidfdSocket as string | undefined,
    consoleSocket: flags.consoleSocket as string | undefined,
    noPivot: flags.noPivot as boolean | undefined,
    noNewKeyring: flags.noNewKeyring as boolean | undefined,
    preserveFds: flags.preserveFds as number | undefined,
    stdio: stdio(),
  });
  if ((cl.command === 'create' || cl.command === 'run') && flags.dryRun) {
    const plan = await rt.send({ type: 'plan', ...createOptions() });
    print(`state folder ${plan.stateDir}\ncgroup ${plan.cgroupDirs.join(' ')}\nplan:`);
    print(plan.steps.map((s, i) => `${String(i).padStart(4)}  ${s.op.padEnd(16)} ${s.what}  (${s.args.join(', ')})`).join('\n'));
    return 0;
  }
  // A cgroupsPath that names a systemd slice is refused by path too (native/spec/validate.ts).
  const makesCgroups = cl.command === 'create' || cl.command === 'run' || cl.command === 'restore';
  if (makesCgroups && (cl.global.systemdCgroup || cl.global.cgroupManager === 'systemd'))
    throw new BerthError(`${cl.global.systemdCgroup ? '--systemd-cgroup' : '--cgroup-manager systemd'}: berth has no systemd cgroup driver: it manages cgroups through cgroupfs`);
  switch (cl.command) {
    case 'create':
      await rt.create(createOptions());
      return 0;
    case 'start':
      // Only a restart makes a process (and needs the caller's stdio for it).
      await rt.start(id, flags.restart ? { restart: true, stdio: stdio() } : {});
      return 0;
    case 'stop':
      if ((flags.timeout as number | undefined) !== undefined && (flags.timeout as number) < 0) throw new UsageError('--timeout must be 0 or more seconds');
      await rt.stop(id, { timeout: flags.timeout as number | undefined });
      return 0;
    case 'state':
      print(JSON.stringify(await rt.state(id), null, 2));
      return 0;
    case 'kill':
      await rt.kill(id, args.SIGNAL ?? 'SIGTERM', { all: flags.all as boolean });
      return 0;
    case 'delete':
      await rt.delete(id, { force: flags.force as boolean });
      return 0;
    case 'list': {
      const states = await rt.list();
      if (flags.quiet) print(states.map((s) => s.id).join('\n'));
      else if (flags.format === 'json') print(JSON.stringify(states));
      else if (flags.format === undefined || flags.format === 'table') print(table(states));
      else throw new UsageError(`invalid format option "${flags.format}": table or json`);
      return 0;
    }
    case 'run': {
      const detach = flags.detach as boolean | undefined;
      if (!detach) forwardSignals(io, rt, id);
      const attached = attachTerminal(io, rt, id);
      if (detach && flags.keep) throw new UsageError('--keep and --detach cannot be used together');
      const { exit } = await rt.run({ ...createOptions(), detach, keep: flags.keep as boolean | undefined, returnTerminal: !detach && !flags.consoleSocket });
      await detachTerminal(attached);
      return exitStatus(exit);
    }
    case 'exec': {
      const detach = flags.detach as boolean | undefined;
      if (!detach) forwardSignalsToExec(io, rt, id);
      const attached = attachTerminal(io, rt, id);
      const { exit } = await rt.send({
        type: 'exec',
        id,
        process: flags.process === undefined ? undefined : readJsonFile(flags.process as string, flags.process as string),
        args: cl.rest,
        env: flags.env as string[] | undefined,
        cwd: flags.cwd as string | undefined,
        user: flags.user === undefined ? undefined : parseUser(flags.user as string, flags.additionalGids as string[] | undefined),
        capabilities: flags.cap as string[] | undefined,
        noNewPrivileges: flags.noNewPrivs as boolean | undefined,
        apparmorProfile: flags.apparmor as string | undefined,
        selinuxLabel: flags.processLabel as string | undefined,
        subCgroup: flags.cgroup as string | undefined,
        pidfdSocket: flags.pidfdSocket as string | undefined,
        tty: flags.tty as boolean | undefined,
        consoleSocket: flags.consoleSocket as string | undefined,
        returnTerminal: !detach && !flags.consoleSocket,
        detach,
        pidFile: flags.pidFile as string | undefined,
        preserveFds: flags.preserveFds as number | undefined,
        ignorePaused: flags.ignorePaused as boolean | undefined,
        stdio: stdio(),
      });
      await detachTerminal(attached);
      return exitStatus(exit);
    }
    case 'pause':
      await rt.pause(id);
      return 0;
    case 'resume':
    case 'unpause':
      await rt.resume(id);
      return 0;
    case 'ps': {
      if (flags.format !== undefined && flags.format !== 'table' && flags.format !== 'json') throw new UsageError(`invalid format option "${flags.format}": table or json`);
      const { pids } = await rt.ps(id);
      if (flags.format === 'json') print(JSON.stringify(pids));
      else print((await import('./ps.js')).psTable(pids, cl.rest[0] === '--' ? cl.rest.slice(1) : cl.rest));
      return 0;
    }
    case 'events': {
      const { parseDuration } = await import('./units.js');
      const interval = flags.interval === undefined ? undefined : parseDuration(flags.interval as string, 'interval');
      if (interval !== undefined && interval <= 0) throw new UsageError('duration interval must be greater than 0');
      if (flags.stats) {
        print(JSON.stringify({ type: 'stats', id, data: await rt.stats(id) }));
        return 0;
      }
      rt.on((e) => (e.type === 'stats' || e.type === 'oom') && e.id === id && print(JSON.stringify(e)));
      await rt.send({ type: 'events', id, interval, signal: io.callerGone });
      return 0;
    }
    case 'update': {
      const { updateResources } = await import('./update.js');
      await rt.update(id, (await updateResources(flags, () => io.readStdin())) as Resources);
      return 0;
    }
    case 'checkpoint':
      await rt.checkpoint({ id, ...criuOptions(flags, io.cwd), leaveRunning: flags.leaveRunning as boolean | undefined, preDump: flags.preDump as boolean | undefined, parentPath: flags.parentPath as string | undefined, emptyNs: flags.emptyNs as string[] | undefined });
      return 0;
    case 'restore': {
      const detach = flags.detach as boolean | undefined;
      const consoleSocket = flags.consoleSocket as string | undefined;
      if (!detach) forwardSignals(io, rt, id);
      const attached = attachTerminal(io, rt, id);
      await rt.restore({ id, ...criuOptions(flags, io.cwd), bundle: (flags.bundle as string | undefined) ?? io.cwd, pidFile: flags.pidFile as string | undefined, consoleSocket, returnTerminal: !detach && !consoleSocket, stdio: stdio(), detach });
      if (detach) return 0;
      const exit = await rt.wait(id);
      await detachTerminal(attached);
      await rt.delete(id, { force: true });
      return exitStatus(exit);
    }
    case 'spec': {
      const path = join((flags.bundle as string | undefined) ?? io.cwd, 'config.json');
      if (existsSync(path)) throw new BerthError(`File ${path} exists. Remove it first`);
      const rootless = flags.rootless ? { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 } : undefined;
      writeFileSync(path, JSON.stringify(await rt.send({ type: 'spec', rootless }), null, 2) + '\n');
      return 0;
    }
    case 'features':
      print(JSON.stringify(await rt.send({ type: 'features' }), null, 2));
      return 0;
    case 'statechart':
      print(await rt.send({ type: 'statechart' }));
      return 0;
  }
  throw new UsageError(`unknown command "${cl.command}"`);
}

/** One CLI call: ARGV without the program's name; resolves with its exit status. */
export async function main(argv: string[], io: CallIO): Promise<number> {
  let log = createLogger({ stderr: io.stderr });
  let rt: Runtime | null = null;
  try {
    const cl = parseCommandLine(argv, io.cwd);
    const g = cl.global;
    if (g.logFormat !== undefined && g.logFormat !== 'text' && g.logFormat !== 'json') throw new UsageError(`invalid log format "${g.logFormat}": text or json`);
    const logOptions: LogOptions = { file: g.log as string | undefined, format: g.logFormat as 'text' | 'json' | undefined, debug: g.debug as boolean | undefined, stderr: io.stderr };
    log = createLogger(logOptions);
    if (g.version) {
      io.stdout(`berth version ${VERSION}\nspec: ${OCI_VERSION}\n`);
      return 0;
    }
    if (g.help || !cl.command) {
      io.stdout(helpText());
      return cl.command || g.help ? 0 : 1;
    }
    if (cl.flags.help) {
      io.stdout(commandHelpText(cl.command));
      return 0;
    }
    for (const u of cl.unused) log.debug(`${u} is accepted for runc compatibility but not used yet`);
    if (cl.command === 'server') {
      if (io.parent) throw new UsageError('berth server runs in a process of its own, not through a server');
      const { runServer } = await import('./serve.js');
      return await runServer({ root: (g.root as string | undefined) ?? defaultRoot(), idleSeconds: cl.flags.idle as number | undefined, log: logOptions });
    }
    if (g.cgroupVersion !== undefined && g.cgroupVersion !== 1 && g.cgroupVersion !== 2) throw new UsageError('--cgroup-version must be 1 or 2');
    if (g.cgroupManager !== undefined && !['cgroupfs', 'disabled', 'systemd'].includes(g.cgroupManager as string)) throw new UsageError('--cgroup-manager must be cgroupfs, disabled or systemd');
    if (g.actorHost !== undefined && g.actorHost !== 'inline' && g.actorHost !== 'pool') throw new UsageError('--actor-host must be inline or pool');
    if (g.actorHost === 'pool' && io.parent?.remote) throw new UsageError('--actor-host pool needs --no-server');
    // spec, statechart and features read no state: they need no root (a user's may not be set).
    const stateless = cl.command === 'spec' || cl.command === 'statechart' || cl.command === 'features';
    rt = new Runtime({
      root: (g.root as string | undefined) ?? io.root ?? (stateless ? '/' : undefined),
      host: (g.actorHost as 'inline' | 'pool' | undefined) ?? 'inline',
      log: logOptions,
      cgroupVersion: g.cgroupVersion as 1 | 2 | undefined,
      noCgroup: g.cgroupManager === 'disabled',
      // What this call does not wait for belongs to the caller (its subreaper reaps it).
      reapDetached: false,
      criu: g.criu === undefined || !(g.criu as string).includes('/') ? (g.criu as string | undefined) : resolve(io.cwd, g.criu as string),
      parent: io.parent,
    });
    return await execute(cl, rt, io);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log.error(message);
    io.stderr(message + '\n');
    return 1;
  } finally {
    await rt?.close();
  }
}
