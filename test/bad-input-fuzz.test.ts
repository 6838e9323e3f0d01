// Bad input at volume: mutated configs of a valid busybox bundle (helpers/configFuzz.ts, a fixed
// seed) through `cli/berth create`. Each one gives either a container — created, then deleted —
// or a one-line error with a non-zero exit; never a stack trace or a hang, and nothing is left
// behind either way. A fast slice runs here; BERTH_FUZZ_COUNT and BERTH_FUZZ_SEED run more
// (`BERTH_FUZZ_COUNT=10000 node build/test/bad-input-fuzz.test.js`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultSpec } from '../native/spec/defaults.js';
import { mutate, prng } from './helpers/configFuzz.js';
import { assertNothingLeft, berth, isRoot, uniqueId, workspace } from './helpers/fixtures.js';

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

if (isRoot) test.run();
else console.log('bad input at volume: skipped (needs root)');
