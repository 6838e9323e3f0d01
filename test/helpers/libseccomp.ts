// libseccomp's filter for an OCI seccomp profile, built the way runc builds it, to compare with berth's:
// the native architecture plus the listed ones; rules with the default action skipped; unknown names
// skipped; conditions on a repeated argument added as rules of their own.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seccompActions } from '../../native/compile/seccomp.js';
import type { Seccomp } from '../../native/spec/config.js';
import { projectRoot } from './fixtures.js';

/** enum scmp_compare in seccomp.h. */
const scmpCompare: Record<string, number> = { SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7 };

/** Compile the exporter into DIR; returns its path, or why it cannot be built. */
export function buildExporter(dir: string): { path: string } | { skip: string } {
  const path = join(dir, 'libseccomp-export');
  const r = spawnSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', path, join(projectRoot, 'test/helpers/libseccomp-export.c'), '-lseccomp'], { encoding: 'utf8' });
  if (r.error) return { skip: `no C compiler (${r.error.message})` };
  if (r.status !== 0) return { skip: `cannot build against libseccomp (apt-get install libseccomp-dev): ${r.stderr.trim().split('\n')[0]}` };
  return { path };
}

const hex = (n: number | bigint) => BigInt(n).toString(16);

function action(name: string, errnoRet: number | undefined): number {
  const a = seccompActions[name]!;
  return (a.ret | (a.takesErrno ? (errnoRet ?? 1) : 0)) >>> 0;
}

/** libseccomp's program for PROFILE, and the names it skipped as unknown. */
export function libseccompFilter(exporter: string, profile: Seccomp, dir: string): { program: Buffer; unknown: string[] } {
  const defaultAction = action(profile.defaultAction, profile.defaultErrnoRet);
  const lines = [`default ${hex(defaultAction)}`];
  for (const arch of profile.architectures) lines.push(`arch ${arch.replace('SCMP_ARCH_', '').toLowerCase()}`);
  for (const s of profile.syscalls) {
    const act = action(s.action, s.errnoRet);
    if (act === defaultAction) continue;
    const conds = s.args.map((a) => `${a.index} ${scmpCompare[a.op]} ${hex(a.value)} ${hex(a.valueTwo)}`);
    const repeated = new Set(s.args.map((a) => a.index)).size < s.args.length;
    const sets = repeated ? conds.map((c) => [c]) : [conds];
    for (const name of s.names) for (const set of sets) lines.push(`rule ${hex(act)} ${name} ${set.length} ${set.join(' ')}`);
  }
  const out = join(dir, 'libseccomp.bpf');
  const stdout = execFileSync(exporter, [out], { input: lines.join('\n') + '\n', encoding: 'utf8' });
  const unknown = [...stdout.matchAll(/^unknown (\S+)$/gm)].map((m) => m[1]!);
  return { program: readFileSync(out), unknown };
}
