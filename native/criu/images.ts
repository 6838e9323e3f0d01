// A checkpoint's image folder: CRIU's images, and berth's record of how the process's stdio was
// keyed (restore hands the restorer's own fds in under those keys).
import { existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';
import { BerthError, isErrno } from '../errors.js';
import type { StdioRecord } from './options.js';

const STDIO_RECORD = 'berth-stdio.json';
/** Every dump writes it; a folder without it holds no checkpoint. */
const INVENTORY = 'inventory.img';

/** Open DIR for CRIU (it reads it through /proc/<berth>/fd), making it first when asked. */
export function openFolder(dir: string, what: string, make: boolean): number {
  const path = resolve(dir);
  if (make) mkdirSync(path, { recursive: true, mode: 0o700 });
  try {
    return openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) throw new BerthError(`${what} ${path}: no such directory`, 'invalid');
    throw e;
  }
}

/** Refuse a folder that holds no checkpoint, before anything is made. */
export function checkImages(dir: string): void {
  const path = resolve(dir);
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new BerthError(`image path ${path}: no such directory`, 'invalid');
  if (!existsSync(join(path, INVENTORY))) throw new BerthError(`image path ${path} holds no checkpoint (no ${INVENTORY})`, 'invalid');
}

export function writeStdioRecord(dir: string, stdio: StdioRecord[]): void {
  writeFileSync(join(resolve(dir), STDIO_RECORD), JSON.stringify(stdio));
}

/** The record a berth checkpoint left; none for images made by another tool. */
export function readStdioRecord(dir: string): StdioRecord[] {
  try {
    return JSON.parse(readFileSync(join(resolve(dir), STDIO_RECORD), 'utf8')) as StdioRecord[];
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return [];
    throw e;
  }
}
