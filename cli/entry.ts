// The CLI's entry point (bundled into build/bundle/berth.js).
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
