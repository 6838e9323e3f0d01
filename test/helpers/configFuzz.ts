// Mutations of a valid config.json, from a seed: each one changes one place of the document —
// a value of the wrong type, a huge, negative or fractional number, a very long or odd string, a
// missing or an extra key, deep nesting, a bad enum word, a duplicated key — and returns the JSON
// text (a duplicate key only exists as text). Pure: the same seed gives the same configs.

/** mulberry32: a small PRNG, enough to pick mutations reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

/** Every place in DOC: the paths of all values below the top. */
function places(doc: Json, at: Path = []): Path[] {
  if (doc === null || typeof doc !== 'object') return [];
  const entries: [string | number, Json][] = Array.isArray(doc) ? doc.map((v, i) => [i, v]) : Object.entries(doc);
  return entries.flatMap(([k, v]) => [[...at, k], ...places(v, [...at, k])]);
}

function parentOf(doc: Json, path: Path): { parent: Json[] | { [k: string]: Json }; key: string | number } {
  let parent = doc as Json[] | { [k: string]: Json };
  for (const k of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[k] as Json[] | { [k: string]: Json };
  return { parent, key: path.at(-1)! };
}

const deep = (depth: number): Json => (depth === 0 ? 1 : [deep(depth - 1)]);

/** What a value becomes: the replacements a mutation picks from. */
const replacements: ((r: () => number) => Json)[] = [
  () => null,
  () => true,
  () => 0,
  () => -1,
  () => 2 ** 64,
  () => -(2 ** 63),
  () => 1.5,
  () => 1e308,
  () => '',
  () => 'bogus',
  () => '../no-such-place',
  () => 'x'.repeat(100_000),
  () => '\u0000nul',
  () => '\ud800', // a lone surrogate: no valid UTF-8 for it
  () => [],
  () => ['bogus'],
  () => ({}),
  () => ({ bogus: 1 }),
  () => deep(2000),
  (r) => Math.floor(r() * 2 ** 32),
];

export interface Mutation {
  what: string;
  text: string;
}

/** One mutation of BASE (a parsed valid config), chosen by R. */
export function mutate(base: Json, r: () => number): Mutation {
  const doc = JSON.parse(JSON.stringify(base)) as Json;
  const all = places(doc);
  const path = all[Math.floor(r() * all.length)]!;
  const { parent, key } = parentOf(doc, path);
  const where = path.join('.');
  const kind = r();
  if (kind < 0.15 && !Array.isArray(parent)) {
    delete (parent as Record<string, Json>)[key as string];
    return { what: `delete ${where}`, text: JSON.stringify(doc) };
  }
  if (kind < 0.22 && !Array.isArray(parent)) {
    (parent as Record<string, Json>)[`unknown${Math.floor(r() * 100)}`] = 'extra';
    return { what: `an extra key beside ${where}`, text: JSON.stringify(doc) };
  }
  if (kind < 0.27 && !Array.isArray(parent)) {
    // A duplicate key: the later one wins in JSON.parse; written into the text after the first.
    const text = JSON.stringify(doc);
    const needle = `${JSON.stringify(key)}:`;
    const at = text.indexOf(needle);
    const dup = `${needle}${JSON.stringify(replacements[Math.floor(r() * replacements.length)]!(r))},`;
    return { what: `a duplicate of ${where}`, text: at < 0 ? text : text.slice(0, at) + dup + text.slice(at) };
  }
  const current = (parent as Record<string | number, Json>)[key];
  if (kind < 0.35 && typeof current === 'string') {
    (parent as Record<string | number, Json>)[key] = `${current}bogus`;
    return { what: `a bad word at ${where}`, text: JSON.stringify(doc) };
  }
  if (kind < 0.42 && typeof current === 'string' && /^\d+$/.test(current) === false) {
    (parent as Record<string | number, Json>)[key] = current.length; // a number where a string is
    return { what: `a number at ${where}`, text: JSON.stringify(doc) };
  }
  const pick = Math.floor(r() * replacements.length);
  (parent as Record<string | number, Json>)[key] = replacements[pick]!(r);
  return { what: `replacement ${pick} at ${where}`, text: JSON.stringify(doc) };
}
