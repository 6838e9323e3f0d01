// The units runc's flags take: Go durations (--interval 5s) and docker's byte sizes (--memory 512m).
import { UsageError } from './options.js';

const durationUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`300ms`, `1.5s`, `1m30s`) in milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const parts = text === '0' ? [] : [...text.matchAll(/(\d+(?:\.\d*)?|\.\d+)([a-zµμ]+)/g)];
  if (text !== '0' && (parts.map((p) => p[0]).join('') !== text || parts.some((p) => durationUnits[p[2]!] === undefined)))
    throw new UsageError(`invalid value "${text}" for flag -${flag}: a duration like 5s, 500ms or 1m30s`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * durationUnits[p[2]!]!, 0);
}

const sizeUnits = ['', 'k', 'm', 'g', 't', 'p'];

/** A byte size as docker and runc read it: binary multiples (`64m` is 64 MiB), or -1 for no limit. */
export function parseBytes(text: string, flag: string): number {
  if (text === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text);
  if (!m) throw new UsageError(`invalid value "${text}" for flag -${flag}: a size like 512m, 1g or 1048576`);
  return Math.floor(Number(m[1]) * 1024 ** sizeUnits.indexOf((m[2] ?? '').toLowerCase()));
}
