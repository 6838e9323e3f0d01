// The JSON files flags name (exec --process, update --resources): read, or one line saying what is wrong.
import { readFileSync } from 'node:fs';
import { BerthError } from '../native/errors.js';

/** The JSON in SOURCE (a path, or 0 for stdin), called NAME in errors. */
export function readJsonFile(source: string | 0, name: string): unknown {
  try {
    return JSON.parse(readFileSync(source, 'utf8'));
  } catch (e) {
    throw new BerthError(`${name}: ${e instanceof SyntaxError ? `invalid JSON: ${e.message}` : (e as Error).message}`, 'invalid');
  }
}
