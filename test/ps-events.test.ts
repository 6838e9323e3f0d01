// The pure parts of ps and events: their command lines, Go durations, the cgroup stats parsers, and
// ps's table. No root, no kernel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCommandLine } from '../cli/options.js';
import { psTable } from '../cli/ps.js';
import { parseDuration } from '../cli/units.js';
import { blkioEntries, ioStatEntries, keyedValues, listNumbers, psiStats } from '../native/cgroups/stats.js';

test('ps: flags end at the id, the rest is for the host ps', () => {
  const cl = parseCommandLine(['ps', '-f', 'json', 'box', '-o', 'pid']);
  assert.equal(cl.flags, { format: 'json' });
  assert.equal(cl.args, { ID: 'box' });
  assert.equal(cl.rest, ['-o', 'pid']);
  assert.equal(parseCommandLine(['ps', 'box', '--', '-ef']).rest, ['--', '-ef']);
});

test('events takes runc’s flags', () => {
  assert.equal(parseCommandLine(['events', '--interval', '2s', '--stats', 'box']).flags, { interval: '2s', stats: true });
});

test('durations as Go writes them', () => {
  assert.is(parseDuration('5s', 'interval'), 5000);
  assert.is(parseDuration('250ms', 'interval'), 250);
  assert.is(parseDuration('1m30s', 'interval'), 90_000);
  assert.is(parseDuration('1.5h', 'interval'), 5_400_000);
  assert.is(parseDuration('0', 'interval'), 0);
  assert.throws(() => parseDuration('5', 'interval'), /invalid value "5" for flag -interval/);
  assert.throws(() => parseDuration('5 s', 'interval'), /invalid value/);
  assert.throws(() => parseDuration('3d', 'interval'), /invalid value/);
});

test('stats parsers: key-value files, v1 blkio lines, v2 io.stat', () => {
  assert.equal(keyedValues('user 10\nsystem 20\n'), { user: 10, system: 20 });
  assert.is(keyedValues(null), undefined);
  assert.equal(blkioEntries('8:0 Read 4096\n8:0 Write 0\n254:1 7\nTotal 4096'), [
    { major: 8, minor: 0, op: 'Read', value: 4096 },
    { major: 8, minor: 0, op: 'Write', value: 0 },
    { major: 254, minor: 1, op: '', value: 7 },
  ]);
  assert.equal(ioStatEntries('8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0'), {
    ioServiceBytesRecursive: [
      { major: 8, minor: 0, op: 'Read', value: 10 },
      { major: 8, minor: 0, op: 'Write', value: 20 },
    ],
    ioServicedRecursive: [
      { major: 8, minor: 0, op: 'Read', value: 1 },
      { major: 8, minor: 0, op: 'Write', value: 2 },
    ],
  });
});

test('stats parsers: CPU and node lists, pressure files', () => {
  assert.equal(listNumbers('0-3,7'), [0, 1, 2, 3, 7]);
  assert.equal(listNumbers(''), []);
  assert.is(listNumbers(null), undefined);
  assert.equal(psiStats('some avg10=1.50 avg60=0.25 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=99'), {
    some: { avg10: 1.5, avg60: 0.25, avg300: 0, total: 1234 },
    full: { avg10: 0, avg60: 0, avg300: 0, total: 99 },
  });
  assert.equal(psiStats('some avg10=0.00 avg60=0.00 avg300=0.00 total=5'), { some: { avg10: 0, avg60: 0, avg300: 0, total: 5 } });
});

test('ps table: the header and the lines of the given pids only', () => {
  const lines = psTable([process.pid], ['-o', 'pid,comm']).split('\n');
  assert.is(lines.length, 2);
  assert.match(lines[0]!, /^\s*PID COMMAND$/);
  assert.match(lines[1]!, new RegExp(`^\\s*${process.pid} node`));
  assert.throws(() => psTable([1], ['-o', 'comm']), /couldn't find PID field in ps output/);
});


test.run();
