// Is the chosen CRIU usable on this machine? `criu check` answers, once per binary per process,
// before a checkpoint or restore changes anything. A failure is one line with CRIU's own reason.
// A pass is also remembered in berth's state root for the same binary on the same boot (as CRIU
// keeps its own kernel facts per boot): the CLI is a new process every call, and the check costs
// about as much as Node's start.
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { release } from 'node:os';
import { promisify } from 'node:util';
import { BerthError } from '../errors.js';
import { firstError } from './log.js';


/** The PATH CRIU runs with: it runs iptables for its network lock. */
export const CRIU_PATH_ENV = process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const run = promisify(execFile);

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** NAME as a path: as given when it has a slash, else found on PATH. */
export function locateBinary(name: string, searchPath = CRIU_PATH_ENV): string | null {
  if (name.includes('/')) return executable(name) ? resolve(name) : null;
  return searchPath.split(delimiter).map((dir) => join(dir, name)).find(executable) ?? null;
}

const versionOf = (output: string) => /^Version:\s*(\S+)/m.exec(output)?.[1] ?? 'unknown';

const numeric = (version: string) => version.split('.').map(Number);
const older = (version: string, than: string) => {
  const [a = 0, b = 0] = numeric(version);
  const [c = 0, d = 0] = numeric(than);
  return a < c || (a === c && b < d);
};

/** Causes of a failed check that CRIU's words do not name, and what to do about them. */
const knownCauses: { applies: (reason: string, version: string, kernel: string) => boolean; advice: string }[] = [
  {
    // Linux 6.13 added the [vvar_vclock] mapping; CRIU before 4.1 cannot parse its own vdso then.
    applies: (reason, version, kernel) => /vdso|vvar/.test(reason) && older(version, '4.1') && !older(kernel, '6.13'),
    advice: 'CRIU 4.1 or newer is needed on Linux 6.13 and later (the [vvar_vclock] mapping)',
  },
];

/** The reason in CRIU's output: its first error, else its last line. Pure. */
export function checkFailureReason(output: string): string {
  const error = firstError(output);
  if (error) return error;
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.at(-1) ?? 'no reason given';
}

/** The one-line error for a failed check. Pure. */
export function checkFailure(binary: string, version: string, output: string, kernel: string): string {
  const reason = checkFailureReason(output);
  const advice = knownCauses.find((c) => c.applies(reason, version, kernel))?.advice;
  return `criu check failed: ${reason} (${binary}, CRIU ${version})${advice ? `: ${advice}` : ''}`;
}

/** What a passed check holds for: this binary, unchanged, on this boot. */
function identity(path: string): string {
  const st = statSync(path);
  return [path, st.ino, st.size, st.mtimeMs, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()].join(' ');
}

const passedFile = (dir: string) => join(dir, 'criu-check-passed');

function passedBefore(dir: string, id: string): boolean {
  try {
    return readFileSync(passedFile(dir), 'utf8').split('\n').includes(id);
  } catch {
    return false;
  }
}

function rememberPass(dir: string, id: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    const tmp = `${passedFile(dir)}.${process.pid}.tmp`;
    writeFileSync(tmp, `${id}\n`);
    renameSync(tmp, passedFile(dir));
  } catch {
    // an unwritable root: the next process checks again
  }
}

async function check(name: string, rememberIn: string | undefined): Promise<string> {
  const path = locateBinary(name);
  if (!path) throw new BerthError(`criu check failed: ${name}: no such executable${name.includes('/') ? '' : ' on PATH'}`, 'failed');
  const id = identity(path);
  if (rememberIn && passedBefore(rememberIn, id)) return path;
  const env = { PATH: CRIU_PATH_ENV };
  try {
    await run(path, ['check'], { env });
  } catch (e) {
    const { stdout = '', stderr = '', message } = e as { stdout?: string; stderr?: string; message: string };
    const version = versionOf((await run(path, ['--version'], { env }).catch((v: { stdout?: string }) => ({ stdout: v.stdout ?? '' }))).stdout);
    throw new BerthError(checkFailure(path, version, [stderr, stdout].join('\n').trim() || message, release()), 'failed');
  }
  if (rememberIn) rememberPass(rememberIn, id);
  return path;
}

const checked = new Map<string, Promise<string>>();

/** The binary NAME (default `criu` on PATH) as an absolute path, checked once per process (and per boot, remembered in REMEMBER_IN). */
export function checkCriu(name = 'criu', rememberIn?: string): Promise<string> {
  let found = checked.get(name);
  if (!found) checked.set(name, (found = check(name, rememberIn)));
  return found;
}
