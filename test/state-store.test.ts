// The state store's atomic write (no root needed): the first write makes the file, later ones swap
// the new content in, and no temp file is left either way.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeAtomic } from '../actors/stateStore.js';

const root = mkdtempSync(join(tmpdir(), 'berth-store-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

test('writeAtomic: made, then replaced whole, mode 0600, nothing else left in the folder', () => {
  const file = join(root, 'state.json');
  writeAtomic(file, '{"status":"created"}');
  assert.is(readFileSync(file, 'utf8'), '{"status":"created"}');
  writeAtomic(file, '{"status":"running","pid":1}');
  writeAtomic(file, '{}');
  assert.is(readFileSync(file, 'utf8'), '{}');
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.equal(readdirSync(root), ['state.json']);
});

test('writeAtomic into a folder that does not exist: names the file, leaves nothing', () => {
  const file = join(root, 'gone', 'state.json');
  assert.throws(() => writeAtomic(file, '{}'), (e: Error) => e.message.includes(file) && !e.message.includes('\n'));
  assert.equal(readdirSync(root).filter((n) => n !== 'state.json'), []);
});

test.run();
