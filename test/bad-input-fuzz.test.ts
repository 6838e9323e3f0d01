// Bad input at volume: mutated configs of a valid busybox bundle (helpers/configFuzz.ts, a fixed
// seed) through `cli/berth create`. Each one gives either a container — created, then deleted —
// or a one-line error with a non-zero exit; never a stack trace or a hang, and nothing is left
// behind either way. So do configs with hooks, and exec --process and update -r files against a
// running container (which runs on, with nothing of an exec left). A fast slice runs here;
// BERTH_FUZZ_COUNT and BERTH_FUZZ_SEED run more (`BERTH_FUZZ_COUNT=10000 node
// build/test/bad-input-fuzz.test.js`: each of the three tests that many).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultSpec } from '../native/spec/defaults.js';
import { mutate, prng } from './helpers/configFuzz.js';
import { assertNothingLeft, berth, isRoot, uniqueId, workspace } from './helpers/fixtures.js';
import { waitUntil } from './helpers/wait.js';

const test = suite('bad input at volume');
const { dir, root, rootfs } = workspace(test);
const count = Number(process.env.BERTH_FUZZ_COUNT ?? 150);
const seed = Number(process.env.BERTH_FUZZ_SEED ?? 20261203);

test(`${count} mutated configs (seed ${seed}): a container or one line, and nothing left`, () => {
  const base = defaultSpec();
  base.root.path = rootfs;
  base.process.args = ['true'];
  const r = prng(seed);
  const outcomes = { created: 0, refused: 0 };
  for (let i = 0; i < count; i++) {
    const m = mutate(JSON.parse(JSON.stringify(base)), r);
    const id = uniqueId(`fuzz${i}`);
    const bundle = join(dir, 'bundles', id);
    mkdirSync(bundle, { recursive: true });
    writeFileSync(join(bundle, 'config.json'), m.text);
    const res = berth(root, ['create', '--bundle', bundle, id], { timeout: 30_000 });
    const what = `#${i} ${m.what}: status ${res.status}, stderr ${JSON.stringify(res.stderr.slice(0, 300))}`;
    assert.ok(res.status !== null, `no hang: ${what}`);
    if (res.status === 0) {
      outcomes.created++;
      assert.is(berth(root, ['delete', '--force', id]).status, 0, `delete: ${what}`);
    } else {
      outcomes.refused++;
      assert.is(res.status, 1, what);
      const lines = res.stderr.trimEnd().split('\n');
      assert.is(lines.length, 1, `one line: ${what}`);
      assert.not.match(res.stderr, /\n\s+at |TypeError|RangeError|ReferenceError|SyntaxError: Unexpected|undefined/, `no stack trace or internal error: ${what}`);
    }
    assertNothingLeft(root, id, dir);
  }
  assert.ok(outcomes.refused > 0 && outcomes.created > 0, `both outcomes occur: ${JSON.stringify(outcomes)}`);
  if (process.env.BERTH_FUZZ_COUNT) console.log(`\n${count} configs: ${outcomes.created} created, ${outcomes.refused} refused in one line`);
});

/** A refusal as bad input gets one: status 1, one line, no stack trace or internal error. */
function assertOneLine(res: { status: number | null; stderr: string }, what: string) {
  assert.is(res.status, 1, what);
  assert.is(res.stderr.trimEnd().split('\n').length, 1, `one line: ${what}`);
  assert.not.match(res.stderr, /\n\s+at |TypeError|RangeError|ReferenceError|SyntaxError: Unexpected|undefined/, `no stack trace or internal error: ${what}`);
}

test(`${count} configs with hooks, mutated (seed ${seed}): a container or one line, and nothing left`, () => {
  const base = defaultSpec();
  base.root.path = rootfs;
  base.process.args = ['true'];
  const hooks = { prestart: [{ path: '/bin/true', args: ['true'], env: ['A=1'], timeout: 5 }], createContainer: [{ path: '/bin/true' }], poststop: [{ path: '/bin/true' }] };
  const r = prng(seed + 1);
  for (let i = 0; i < count; i++) {
    const m = mutate(hooks, r); // only the hooks change: spliced in as text (a duplicate key is only text)
    const id = uniqueId(`fuzzhook${i}`);
    const bundle = join(dir, 'bundles', id);
    mkdirSync(bundle, { recursive: true });
    writeFileSync(join(bundle, 'config.json'), `${JSON.stringify(base).slice(0, -1)},"hooks":${m.text}}`);
    const res = berth(root, ['create', '--bundle', bundle, id], { timeout: 30_000 });
    const what = `#${i} ${m.what}: status ${res.status}, stderr ${JSON.stringify(res.stderr.slice(0, 300))}`;
    assert.ok(res.status !== null, `no hang: ${what}`);
    if (res.status === 0) assert.is(berth(root, ['delete', '--force', id]).status, 0, `delete: ${what}`);
    else assertOneLine(res, what);
    assertNothingLeft(root, id, dir);
  }
});

test(`${count} mutated exec --process and update -r files (seed ${seed}): done or one line; the container runs on, nothing of an exec stays`, () => {
  const base = defaultSpec();
  base.root.path = rootfs;
  base.process.args = ['sleep', '600'];
  const bundle = join(dir, 'bundles', 'fuzz-target');
  mkdirSync(bundle, { recursive: true });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(base));
  const id = uniqueId('fuzz-target');
  assert.is(berth(root, ['run', '-d', '--bundle', bundle, id]).status, 0);
  const pids = () => JSON.parse(berth(root, ['ps', '--format', 'json', id]).stdout) as number[];
  const [sleeper] = pids();
  const process = { ...base.process, args: ['true'] };
  const resources = { memory: { limit: 100 * 2 ** 20 }, cpu: { shares: 512 }, pids: { limit: 100 }, blockIO: {} };
  const r = prng(seed + 2);
  for (let i = 0; i < count; i++) {
    const [flag, doc, op] = i % 2 ? (['-r', resources, 'update'] as const) : (['--process', process, 'exec'] as const);
    const m = mutate(doc as unknown as Parameters<typeof mutate>[0], r);
    const file = join(dir, 'bundles', `${op}-${i}.json`);
    writeFileSync(file, m.text);
    const res = berth(root, op === 'exec' ? ['exec', flag, file, id] : ['update', flag, file, id], { timeout: 30_000 });
    const what = `#${i} ${op} ${m.what}: status ${res.status}, stderr ${JSON.stringify(res.stderr.slice(0, 300))}`;
    assert.ok(res.status !== null, `no hang: ${what}`);
    // An exec that ran reports its program's status (127: not found); the rest is berth's one line.
    if (res.status !== 0 && !(op === 'exec' && res.status === 127)) assertOneLine(res, what);
    assert.ok(waitUntil(() => pids().join() === String(sleeper)), `only the container's own process is left: ${what}`);
  }
  assert.is(berth(root, ['delete', '--force', id]).status, 0);
  assertNothingLeft(root, id, dir);
});

if (isRoot) test.run();
else console.log('bad input at volume: skipped (needs root)');
