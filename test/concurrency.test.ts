// Many operations on one container at once, from separate cli/berth processes (as several clients
// would): each succeeds or is refused in the state machine's words, nothing else; and what is
// recorded afterwards agrees with the kernel (the freezer, pids.max).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { prng } from './helpers/configFuzz.js';
import { berth, berthBin, isRoot, makeBundle, ok, uniqueId, workspace } from './helpers/fixtures.js';

const test = suite('concurrency');
const { dir, root, rootfs } = workspace(test);

/** One CLI call, not waited for: resolves with its status and stderr. */
function call(args: string[]): Promise<{ args: string[]; status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(berthBin, ['--root', root, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ args, status, stderr }));
  });
}

/** What the machine may answer to a call that came at the wrong moment. */
const refusals = /^(container already paused|container not paused|container not running|cannot exec in a paused container \(use --ignore-paused to override\))\n$/;

test('100 operations of every kind on one id at once: successes and refusals only, and the record agrees with the kernel', async () => {
  const id = uniqueId('busy');
  ok(berth(root, ['run', '-d', '--bundle', makeBundle(join(dir, id), rootfs, ['sleep', '600']), id]), 'run -d');
  const r = prng(Number(process.env.BERTH_CONCURRENCY_SEED ?? 100));
  const kinds = [
    () => ['pause', id],
    () => ['resume', id],
    () => ['state', id],
    () => ['exec', id, 'true'],
    () => ['update', '--pids-limit', String(100 + Math.floor(r() * 100)), id],
    () => ['kill', id, 'CONT'],
    () => ['ps', '--format', 'json', id],
    () => ['events', '--stats', id],
    () => ['list'],
  ];
  const lines = Array.from({ length: 100 }, () => kinds[Math.floor(r() * kinds.length)]!());
  const calls = lines.map(call);
  // An exec that joined the container just before a pause froze it waits for a thaw, as with runc:
  // the other calls end first; then the freezer is read against the record, and a resume lets any
  // such exec finish.
  await Promise.all(calls.filter((_, i) => lines[i]![0] !== 'exec'));
  const status = JSON.parse(ok(berth(root, ['state', id]), 'state')).status as string;
  const freezer = readFileSync(`/sys/fs/cgroup/freezer/berth-${id}/freezer.state`, 'utf8').trim();
  assert.is(freezer, status === 'paused' ? 'FROZEN' : 'THAWED', `recorded ${status}, the freezer ${freezer}`);
  if (status === 'paused') ok(berth(root, ['resume', id]), 'resume');
  const results = await Promise.all(calls);
  for (const res of results) {
    if (res.status === 0) continue;
    assert.is(res.status, 1, `${res.args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, refusals, `${res.args.join(' ')}: only the machine's refusals`);
  }
  assert.ok(results.filter((x) => x.status === 0).length >= 50, 'most succeed');

  const limits = results.filter((x) => x.args[0] === 'update' && x.status === 0).map((x) => x.args[2]);
  const pidsMax = readFileSync(`/sys/fs/cgroup/pids/berth-${id}/pids.max`, 'utf8').trim();
  assert.ok(limits.length === 0 || limits.includes(pidsMax), `pids.max ${pidsMax} is one of the limits set: ${limits}`);
  ok(berth(root, ['delete', '--force', id]), 'delete -f');
});

if (isRoot) test.run();
else console.log('concurrency: skipped (needs root)');
