/**
 * Config problems: what is wrong, where (file:line:column and a dotted key path),
 * and how to fix it. All problems of a file are reported together in one ConfigError.
 */
import { UplinkError } from '../errors.js';

export interface ConfigProblem {
  /** The file as given by the caller (not resolved). */
  file: string;
  /** 1-based line of the offending YAML node. */
  line: number;
  /** 1-based column of the offending YAML node. */
  column: number;
  /** Dotted key path, e.g. `uplinks.dsl.probe.interval` or `lan[1].zone`; '' for the whole file. */
  path: string;
  message: string;
  hint?: string;
}

/**
 * Separates a message from its hint inside one zod issue message. Schema code writes
 * `hinted(message, hint)`; the issue translator splits it again. A control character
 * cannot collide with text quoted from a user's file (YAML strings may hold it only escaped).
 */
export const HINT_SEP = '\u001f';

export function hinted(message: string, hint?: string): string {
  return hint ? `${message}${HINT_SEP}${hint}` : message;
}

export function splitHint(text: string): { message: string; hint?: string } {
  const i = text.indexOf(HINT_SEP);
  if (i < 0) return { message: text };
  return { message: text.slice(0, i), hint: text.slice(i + HINT_SEP.length) };
}

/** `uplinkd.yaml:14:7 uplinks.dsl.probe.interval: "5 sec" is not a duration — write 5s` */
export function formatProblem(p: ConfigProblem): string {
  const where = `${p.file}:${p.line}:${p.column}`;
  const path = p.path ? ` ${p.path}:` : '';
  const hint = p.hint ? ` — ${p.hint}` : '';
  return `${where}${path} ${p.message}${hint}`;
}

export function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return tightest(problems).sort((a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
}

/** Two bounds of one value (zod's safe-integer limit and the key's own) would say it twice: keep the tighter. */
function tightest(problems: ConfigProblem[]): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const bound = new Map<string, number>();
  for (const p of problems) {
    const m = /^must be at (most|least) (-?\d+(?:\.\d+)?)$/.exec(p.hint ?? '');
    const key = m && `${p.file}:${p.line}:${p.column}:${p.path}:${p.message}:${m[1]}`;
    const at = key ? bound.get(key) : undefined;
    if (!key || at === undefined) {
      if (key) bound.set(key, out.length);
      out.push(p);
      continue;
    }
    const limit = (q: ConfigProblem) => Number(/(-?\d+(?:\.\d+)?)$/.exec(q.hint ?? '')![1]);
    const tighter = m[1] === 'most' ? limit(p) < limit(out[at]!) : limit(p) > limit(out[at]!);
    if (tighter) out[at] = p;
  }
  return out;
}

/** Thrown when a config file does not validate; `problems` lists every problem, sorted. */
export class ConfigError extends UplinkError {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    const sorted = sortProblems(problems);
    const file = sorted[0]?.file ?? 'config';
    super(
      'CONFIG_INVALID',
      sorted.map(formatProblem).join('\n'),
      `${sorted.length} problem${sorted.length === 1 ? '' : 's'} in ${file}; nothing was applied` +
        ` (check a file with: uplink check ${file})`,
    );
    this.name = 'ConfigError';
    this.problems = sorted;
  }

  override toJSON(): { code: string; message: string; hint?: string; problems: ConfigProblem[] } {
    return { ...super.toJSON(), problems: this.problems };
  }
}

/** Edit distance (Levenshtein, counting a swap of neighbours as one edit), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The closest candidate within edit distance 2 (case-insensitive), if any; short words
 * need a closer match, so "zz" does not suggest "a".
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d <= 2 && d <= Math.floor(Math.max(word.length, c.length) / 2) && d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** Hint for an unknown name among `known`: did-you-mean, else the list. */
export function suggest(word: string, known: readonly string[], what = 'allowed keys'): string {
  const near = closest(word, known);
  if (near !== undefined) return `did you mean "${near}"?`;
  return known.length ? `${what}: ${known.join(', ')}` : `no ${what} here`;
}
