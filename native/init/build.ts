// Build berth-init: generate the opcode header from native/plan.ts, compile the C statically.
// Run from the project root after tsc: `node build/native/init/build.js`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cHeader } from '../plan.js';

const out = 'build/native';
mkdirSync(out, { recursive: true });
writeFileSync(`${out}/plan_ops.h`, cHeader());
execFileSync(process.env.CC ?? 'cc', ['-static', '-O2', '-Wall', '-Wextra', '-Werror', `-I${out}`, '-o', `${out}/berth-init`, 'native/init/init.c'], { stdio: 'inherit' });
