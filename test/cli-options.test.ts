// runc's command line and signal names, parsed without running anything.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commandHelpText, parseCommandLine, UsageError } from '../cli/options.js';
import { parseSignal, signalName } from '../native/signals.js';

test('global flags before the command, command flags before or after the id', () => {
  const cl = parseCommandLine(['--root', '/r', '--log=/l', '--log-format', 'json', 'create', '-b', '/bundle', 'c1', '--pid-file', '/p']);
  assert.equal(cl.global, { root: '/r', log: '/l', logFormat: 'json' });
  assert.is(cl.command, 'create');
  assert.equal(cl.flags, { bundle: '/bundle', pidFile: '/p' });
  assert.equal(cl.args, { ID: 'c1' });
});

test('single-dash long flags and booleans as urfave/cli takes them', () => {
  const cl = parseCommandLine(['-root', '/r', 'delete', '-force', 'c1']);
  assert.equal(cl.flags, { force: true });
  assert.equal(parseCommandLine(['run', '-d', 'x']).flags, { detach: true });
  assert.equal(parseCommandLine(['run', '--detach=false', 'x']).flags, { detach: false });
  assert.equal(parseCommandLine(['kill', '--all', 'x', 'KILL']).args, { ID: 'x', SIGNAL: 'KILL' });
});

test('accepted-but-unused runc flags are collected, not refused', () => {
  const cl = parseCommandLine(['--systemd-cgroup', 'run', '--no-subreaper', 'x']);
  assert.equal(cl.unused, ['--no-subreaper'], '--systemd-cgroup is acted on: refused where it would make a cgroup');
});

test('exec: flags end at the id, the rest is the command; repeatable flags keep every value', () => {
  const cl = parseCommandLine(['exec', '-t', '-e', 'A=1', '--env=B=2', '-c', 'CAP_KILL', 'box', 'sh', '-c', 'ls -l']);
  assert.equal(cl.flags, { tty: true, env: ['A=1', 'B=2'], cap: ['CAP_KILL'] });
  assert.equal(cl.args, { ID: 'box' });
  assert.equal(cl.rest, ['sh', '-c', 'ls -l']);
  assert.throws(() => parseCommandLine(['exec']), /"exec" requires arguments: ID, got 0/);
});

test('every command takes --help (podman asks `checkpoint --help` whether checkpoint exists); no arguments are needed then', () => {
  for (const argv of [['checkpoint', '--help'], ['state', '-h'], ['exec', '--help']]) {
    const cl = parseCommandLine(argv);
    assert.is(cl.flags.help, true, argv.join(' '));
    assert.equal(cl.args, {});
  }
  assert.equal(parseCommandLine(['exec', 'c1', 'sh', '-h']).rest, ['sh', '-h'], "after exec's id, -h is the program's");
  const text = commandHelpText('checkpoint');
  assert.match(text, /^berth checkpoint: dump a running container with CRIU/);
  assert.match(text, /\n   --image-path +the checkpoint's image folder/);
});

test('usage errors', () => {
  assert.throws(() => parseCommandLine(['create', '--bogus', 'x']), (e: Error) => e instanceof UsageError && e.message === 'flag provided but not defined: -bogus');
  assert.throws(() => parseCommandLine(['start']), /"start" requires arguments: ID, got 0/);
  assert.throws(() => parseCommandLine(['frobnicate']), /unknown command "frobnicate"/);
  assert.throws(() => parseCommandLine(['create', '--preserve-fds', 'x', 'id']), /not an integer/);
  assert.throws(() => parseCommandLine(['create', '-b']), /flag needs an argument: -b/);
});

test('signals: names with or without SIG, numbers, real-time offsets', () => {
  assert.is(parseSignal('TERM'), 15);
  assert.is(parseSignal('sigkill'), 9);
  assert.is(parseSignal('9'), 9);
  assert.is(parseSignal('RTMIN+2'), 36);
  assert.is(parseSignal('SIGRTMAX-1'), 63);
  assert.throws(() => parseSignal('NOPE'), /unknown signal "NOPE"/);
  assert.throws(() => parseSignal('99'), /invalid signal: 99/);
  assert.is(signalName(15), 'SIGTERM');
});

test.run();
