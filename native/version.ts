// berth's version: package.json's, read where the build put this module (build/ and the CLI bundle
// both sit two folders below the project).
import { createRequire } from 'node:module';

export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
