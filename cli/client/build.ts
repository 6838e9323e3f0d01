// Build the native client, build/bin/berth: generate its header from actors/server/protocol.ts
// (the wire protocol) and cli/options.ts (the global flags that take a value, skipped to find the
// command and --root), compile the C statically. Run from the project root after tsc:
// `node build/cli/client/build.js`. The Node that runs this is the one the client execs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cHeader } from '../../actors/server/protocol.js';
import { DEFAULT_ROOT, ROOT_MODES, USER_ROOT_DIR } from '../../actors/stateStore.js';
import { globalFlags } from '../options.js';

const out = 'build/cli/client';
mkdirSync(out, { recursive: true });
mkdirSync('build/bin', { recursive: true });
const valueFlags = Object.values(globalFlags).flatMap((f) => (f.type === 'bool' ? [] : f.names));
writeFileSync(`${out}/protocol.h`, cHeader({ defaultRoot: DEFAULT_ROOT, userRootDir: USER_ROOT_DIR, rootModes: ROOT_MODES, valueFlags, node: process.execPath }));
// Compiled beside it and renamed over: a call running the old binary meanwhile is not disturbed.
execFileSync(process.env.CC ?? 'cc', ['-static', '-O2', '-Wall', '-Wextra', '-Werror', `-I${out}`, '-o', 'build/bin/berth.tmp', 'cli/client/berth.c'], { stdio: 'inherit' });
renameSync('build/bin/berth.tmp', 'build/bin/berth');
