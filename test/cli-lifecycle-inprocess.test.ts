// The CLI lifecycle suite on the in-process path (`--no-server`, BERTH_NO_SERVER=1): no berth server.
import { isRoot } from './helpers/fixtures.js';
import { cliLifecycleSuite } from './cli-lifecycle.test.js';

if (isRoot) cliLifecycleSuite('cli lifecycle, in-process', { BERTH_NO_SERVER: '1' }).run();
else console.log('cli lifecycle, in-process: skipped (needs root)');
