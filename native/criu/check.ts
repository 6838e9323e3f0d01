// Is the chosen CRIU usable on this machine? `criu check` answers, once per binary per process,
// before a checkpoint or restore changes anything. A failure is one line with CRIU's own reason.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { release } from 'node:os';
import { promisify } from 'node:util';
import { BerthError } from '../errors.js';
import { firstError } from './log.js';

export interface CriuBinary {
  /** Absolute: berth spawns it without a PATH search. */
  path: string;
  /** `4.2`, as `criu --version` says it. */
  version: string;
}

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

async function check(name: string): Promise<CriuBinary> {
  const path = locateBinary(name);
  if (!path) throw new BerthError(`criu check failed: ${name}: no such executable${name.includes('/') ? '' : ' on PATH'}`, 'failed');
  const env = { PATH: CRIU_PATH_ENV };
  const version = versionOf((await run(path, ['--version'], { env }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }))).stdout);
  try {
    await run(path, ['check'], { env });
  } catch (e) {
    const { stdout = '', stderr = '', message } = e as { stdout?: string; stderr?: string; message: string };
    throw new BerthError(checkFailure(path, version, [stderr, stdout].join('\n').trim() || message, release()), 'failed');
  }
  return { path, version };
}

const checked = new Map<string, Promise<CriuBinary>>();

/** The binary NAME (default `criu` on PATH), checked once per process. */
export function checkCriu(name = 'criu'): Promise<CriuBinary> {
  let found = checked.get(name);
  if (!found) checked.set(name, (found = check(name)));
  return found;
}
