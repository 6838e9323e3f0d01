// The mount table a long-lived berth reads again only when the kernel says it changed.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mountTable } from '../native/mountTable.js';
import { isRoot, tempDir } from './helpers/fixtures.js';

test('mountTable: the same text while nothing changes; a mount and an unmount are seen at once', () => {
  const dir = tempDir();
  const point = join(dir, 'm');
  mkdirSync(point);
  try {
    assert.is(mountTable(), mountTable(), 'not read again');
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', point]);
    assert.ok(mountTable().includes(` ${point} `), 'the mount');
    execFileSync('umount', [point]);
    assert.not.ok(mountTable().includes(` ${point} `), 'the unmount');
  } finally {
    if (mountTable().includes(` ${point} `)) spawnSync('umount', [point]);
    rmSync(dir, { recursive: true, force: true });
  }
});

if (isRoot) test.run();
else console.log('mount table: skipped (needs root)');
