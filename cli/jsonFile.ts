// The JSON files flags name (exec --process, update --resources): read, or one line saying what is wrong.
import { readFileSync } from 'node:fs';
import { BerthError } from '../native/errors.js';

/** The JSON in SOURCE (a path, or what was read from stdin), called NAME in errors. */
export function readJsonFile(source: string | Buffer, name: string): unknown {
  try {
    return JSON.parse(typeof source === 'string' ? readFileSync(source, 'utf8') : source.toString('utf8'));
  } catch (e) {
    throw new BerthError(`${name}: ${e instanceof SyntaxError ? `invalid JSON: ${e.message}` : (e as Error).message}`, 'invalid');
  }
}
