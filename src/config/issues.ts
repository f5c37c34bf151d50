/** Turning zod issues into ConfigProblems with positions, plain messages and hints. */
import type { z } from 'zod';
import type { Document, LineCounter } from 'yaml';
import { closest, splitHint, suggest, type ConfigProblem } from './errors.js';
import { formatPath, locate, positionOf, type KeyPath } from './positions.js';

type Issue = z.core.$ZodIssue;
interface Def {
  type: string;
  [k: string]: unknown;
}
const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } } | undefined)?._zod?.def;

/** Strips wrappers (optional, default, pipe...) off a schema. */
function unwrap(s: unknown): unknown {
  for (let i = 0; i < 20; i++) {
    const d = defOf(s);
    if (!d) return s;
    if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(d.type))
      s = d.innerType;
    else if (d.type === 'pipe') s = d.in;
    else if (d.type === 'lazy') s = (d.getter as () => unknown)();
    else return s;
  }
  return s;
}

/** The keys an object schema at `path` allows (for "did you mean"). */
export function allowedKeysAt(schema: unknown, path: KeyPath): string[] {
  let s = unwrap(schema);
  for (const seg of path) {
    const d = defOf(s);
    if (!d) return [];
    if (d.type === 'object') s = (d.shape as Record<string, unknown>)[String(seg)];
    else if (d.type === 'record') s = d.valueType;
    else if (d.type === 'array') s = d.element;
    else if (d.type === 'union') {
      const opts = d.options as unknown[];
      s = opts
        .map(unwrap)
        .find((o) => defOf(o)?.type === (typeof seg === 'number' ? 'array' : 'object') || defOf(o)?.type === 'record');
      if (s === undefined) return [];
      const od = defOf(s)!;
      s =
        od.type === 'object'
          ? (od.shape as Record<string, unknown>)[String(seg)]
          : od.type === 'array'
            ? od.element
            : od.valueType;
    } else return [];
    s = unwrap(s);
  }
  const d = defOf(s);
  return d?.type === 'object' ? Object.keys(d.shape as object) : [];
}

function show(v: unknown): string {
  if (v === null) return 'an empty value';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  // YAML tags make values JSON has no name for.
  if (v instanceof Uint8Array) return 'binary data (!!binary)';
  if (v instanceof Date) return 'a date';
  if (v instanceof Set) return 'a set (!!set)';
  if (v instanceof Map) return 'a map with keys that are not names';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'number' && !Number.isFinite(v))
    return Number.isNaN(v) ? 'not a number (.nan)' : 'a number too large to hold (it reads as infinity)';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a map of keys',
  record: 'a map of names',
  array: 'a list',
  bigint: 'a number',
  null: 'null',
};
const typeName = (t: string): string => TYPE_NAMES[t] ?? t;

const entries = (n: number): string => (n === 1 ? '1 entry' : `${n} entries`);

const TYPE_CODES = new Set<string>(['invalid_type', 'invalid_union', 'invalid_value']);

/** Message and hint of one issue (not its position). */
export function describeIssue(issue: Issue): { message: string; hint?: string } {
  const last = issue.path[issue.path.length - 1];
  const input = (issue as { input?: unknown }).input;
  // A key that is not there is missing, whatever its type's own error would say ("undefined is not a port").
  if (input === undefined && last !== undefined && TYPE_CODES.has(issue.code))
    return { message: `missing required key "${String(last)}"` };
  if (issue.message.includes('\u001f')) return splitHint(issue.message);
  switch (issue.code) {
    case 'invalid_type': {
      if (input === undefined) return { message: `missing required key "${String(last)}"` };
      const want = typeName(issue.expected);
      if (issue.expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')) {
        return { message: `expected ${want}, got ${show(input)}`, hint: `quote it: "${String(input)}"` };
      }
      if (issue.expected === 'int' && typeof input === 'number')
        return { message: `expected a whole number, got ${input}` };
      if (issue.expected === 'array' && input !== null && typeof input !== 'object') {
        return { message: `expected ${want}, got ${show(input)}`, hint: `write a list: [${show(input)}]` };
      }
      return { message: `expected ${want}, got ${show(input)}` };
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => String(v));
      const near = typeof input === 'string' ? closest(input, values) : undefined;
      return {
        message: `${show(input)} is not allowed here`,
        hint: `${near !== undefined ? `did you mean "${near}"? ` : ''}use one of: ${values.join(', ')}`,
      };
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'array' || issue.origin === 'set') return { message: `needs at least ${entries(min)}` };
      if (issue.origin === 'string')
        return { message: min <= 1 ? 'must not be empty' : `must be at least ${min} characters` };
      return {
        message: `${show(input)} is too small`,
        hint: `must be ${issue.inclusive ? 'at least' : 'more than'} ${min}`,
      };
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'array' || issue.origin === 'set') return { message: `has more than ${entries(max)}` };
      if (issue.origin === 'string') return { message: `is longer than ${max} characters` };
      return {
        message: `${show(input)} is too big`,
        hint: `must be ${issue.inclusive ? 'at most' : 'less than'} ${max}`,
      };
    }
    case 'invalid_union': {
      const expected = new Set<string>();
      for (const branch of issue.errors)
        for (const e of branch) if (e.code === 'invalid_type') expected.add(typeName(e.expected));
      if (expected.size > 0) return { message: `expected ${[...expected].join(' or ')}, got ${show(input)}` };
      return { message: `${show(input)} is not valid here` };
    }
    case 'invalid_key': {
      const inner = issue.issues[0];
      return inner ? describeIssue(inner as Issue) : { message: `invalid key ${show(String(last))}` };
    }
    case 'not_multiple_of':
      return { message: `${show(input)} must be a multiple of ${String(issue.divisor)}` };
    case 'invalid_format':
      return { message: `${show(input)} is not a valid ${issue.format}` };
    default:
      return { message: issue.message };
  }
}

export interface IssueContext {
  file: string;
  doc: Document;
  lc: LineCounter;
  schema: unknown;
}

/** One zod issue → one or more problems (unknown keys give one problem per key). */
export function issueToProblems(issue: Issue, ctx: IssueContext): ConfigProblem[] {
  const at = (path: KeyPath, preferKey: boolean): { line: number; column: number } => {
    const loc = locate(ctx.doc, path);
    return positionOf(preferKey && loc.complete && loc.key ? loc.key : loc.node, ctx.lc);
  };
  if (issue.code === 'unrecognized_keys') {
    const known = allowedKeysAt(ctx.schema, issue.path);
    return issue.keys.map((k) => {
      const path = [...issue.path, k];
      return {
        file: ctx.file,
        ...at(path, true),
        path: formatPath(path),
        message: `unknown key "${k}"`,
        hint: suggest(k, known),
      };
    });
  }
  const { message, hint } = describeIssue(issue);
  const p: ConfigProblem = {
    file: ctx.file,
    ...at(issue.path, issue.code === 'invalid_key'),
    path: formatPath(issue.path),
    message,
  };
  if (hint !== undefined) p.hint = hint;
  return [p];
}
