// The units runc's flags take: docker's byte sizes (--memory 512m).
import { UsageError } from './options.js';

const sizeUnits = ['', 'k', 'm', 'g', 't', 'p'];

/** A byte size as docker and runc read it: binary multiples (`64m` is 64 MiB), or -1 for no limit. */
export function parseBytes(text: string, flag: string): number {
  if (text === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text);
  if (!m) throw new UsageError(`invalid value "${text}" for flag -${flag}: a size like 512m, 1g or 1048576`);
  return Math.floor(Number(m[1]) * 1024 ** sizeUnits.indexOf((m[2] ?? '').toLowerCase()));
}
