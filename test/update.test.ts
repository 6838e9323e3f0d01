// update's pure parts: runc's flags and byte sizes into linux.resources, and the merge of an update
// into the recorded resources. No root, no kernel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeResources } from '../actors/operations/update.js';
import { parseCommandLine } from '../cli/options.js';
import { parseBytes } from '../cli/units.js';
import { updateResources } from '../cli/update.js';
import { ConfigError } from '../native/spec/validate.js';

test('update takes runc’s flags (--cpu-share, and --cpu-shares too)', () => {
  assert.equal(parseCommandLine(['update', '--cpu-shares', '512', '--cpu-share=256', 'box']).flags, { cpuShares: '256' });
});

test('byte sizes as docker and runc read them', () => {
  assert.is(parseBytes('1048576', 'memory'), 1048576);
  assert.is(parseBytes('64m', 'memory'), 64 << 20);
  assert.is(parseBytes('64MiB', 'memory'), 64 << 20);
  assert.is(parseBytes('1.5g', 'memory'), 1.5 * 2 ** 30);
  assert.is(parseBytes('2k', 'memory'), 2048);
  assert.is(parseBytes('-1', 'memory'), -1);
  assert.throws(() => parseBytes('12x', 'memory'), /invalid value "12x" for flag -memory/);
});

test('update: flags become linux.resources fields', () => {
  const flags = parseCommandLine(['update', '--memory', '1g', '--memory-swap', '-1', '--cpu-quota', '-1', '--cpuset-cpus', '0-1', '--pids-limit', '-1', '--blkio-weight', '300', 'box']).flags;
  const noStdin = () => Promise.reject(new Error('not read'));
  assert.equal(updateResources(flags, noStdin), {
    memory: { limit: 2 ** 30, swap: -1 },
    cpu: { quota: -1, cpus: '0-1' },
    pids: { limit: -1 },
    blockIO: { weight: 300 },
  });
  assert.equal(updateResources({}, noStdin), {});
});

test('update merges as runc does: given fields replace, others stay, devices match by major:minor', () => {
  const recorded = {
    devices: [{ allow: false, access: 'rwm' }],
    memory: { limit: 100, swap: 200 },
    cpu: { shares: 512, cpus: '0' },
    blockIO: { weight: 100, weightDevice: [{ major: 8, minor: 0, weight: 10, leafWeight: 20 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 1 }],
    unified: { 'memory.high': '5' },
  };
  const merged = mergeResources(recorded, {
    memory: { limit: 150 },
    pids: { limit: 9 },
    blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 30 }], throttleReadBpsDevice: [{ major: 8, minor: 16, rate: 2 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 4 }, { pageSize: '1GB', limit: 0 }],
    unified: { 'io.max': 'x' },
    devices: [{ allow: false, access: 'rwm' }],
  });
  assert.equal(merged, {
    devices: [{ allow: false, access: 'rwm' }],
    memory: { limit: 150, swap: 200 },
    cpu: { shares: 512, cpus: '0' },
    pids: { limit: 9 },
    blockIO: {
      weight: 100,
      weightDevice: [{ major: 8, minor: 0, weight: 30, leafWeight: 20 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }, { major: 8, minor: 16, rate: 2 }],
    },
    hugepageLimits: [{ pageSize: '2MB', limit: 4 }, { pageSize: '1GB', limit: 0 }],
    unified: { 'memory.high': '5', 'io.max': 'x' },
  });
  assert.equal(mergeResources({}, {}), {});
  assert.throws(() => mergeResources(recorded, { devices: [] }), (e: unknown) => e instanceof ConfigError && e.path === 'linux.resources.devices');
});

test.run();
