/**
 * The config key reference (docs/config.md, between the GENERATED markers), rendered from the
 * JSON Schema of the file's input form: one row per key path, with its type, default, example
 * and `.describe()` text. Pure and deterministic: the schema's own key order, no clock, no I/O.
 * `npm run docs` writes it (config/doc-write.ts); a unit test fails when the file lags.
 */
import YAML from 'yaml';
import { formatDuration } from './duration.js';
import { configJsonSchema } from './json-schema.js';

type Node = Record<string, unknown>;

export const GENERATED_BEGIN = '<!-- BEGIN GENERATED: npm run docs -->';
export const GENERATED_END = '<!-- END GENERATED -->';

/** One key of the config, as the reference shows it. */
export interface KeyDoc {
  /** `control.http.listen`, `uplinks.<name>.probe.interval`, `lan[].zone`. */
  path: string;
  type: string;
  /** The default as written in YAML, `**required**`, or empty. */
  default: string;
  /** A YAML line `key: value`: the schema's example, else the default; or empty. */
  example: string;
  description: string;
}

/** Placeholder of a key the admin names (a record's key). */
export const NAME = '<name>';

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
const nodes = (v: unknown): Node[] => (Array.isArray(v) ? v.filter(isNode) : []);

/** Resolves `$ref` (local: `#`, `#/$defs/X`, any JSON pointer) and merges `allOf`, keeping siblings. */
class Resolver {
  constructor(private readonly root: Node) {}

  pointer(ref: string): Node | undefined {
    if (!ref.startsWith('#')) return undefined;
    let at: unknown = this.root;
    for (const raw of ref.slice(1).split('/').filter(Boolean)) {
      const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      at = isNode(at) ? at[key] : Array.isArray(at) ? at[Number(key)] : undefined;
    }
    return isNode(at) ? at : undefined;
  }

  /** The node with its `$ref` chain and `allOf` folded in; `refs` are the refs on the way (cycle guard). */
  resolve(node: Node, refs: readonly string[] = []): { node: Node; refs: readonly string[] } {
    let out: Node = node;
    let seen = refs;
    while (typeof out.$ref === 'string') {
      const ref = out.$ref;
      if (seen.includes(ref)) break;
      const target = this.pointer(ref);
      if (!target) break;
      seen = [...seen, ref];
      const { $ref: _, ...siblings } = out;
      out = { ...target, ...siblings };
    }
    const all = nodes(out.allOf);
    if (all.length) {
      const { allOf: _, ...rest } = out;
      let merged: Node = {};
      for (const part of all) {
        const r = this.resolve(part, seen).node;
        merged = {
          ...merged,
          ...r,
          properties: {
            ...(isNode(merged.properties) ? merged.properties : {}),
            ...(isNode(r.properties) ? r.properties : {}),
          },
          required: [
            ...(Array.isArray(merged.required) ? merged.required : []),
            ...(Array.isArray(r.required) ? r.required : []),
          ],
        };
      }
      out = { ...merged, ...rest };
    }
    return { node: out, refs: seen };
  }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const alternatives = (n: Node): Node[] => [...nodes(n.anyOf), ...nodes(n.oneOf)];

/** A duration: a string with our duration pattern, or the number 0 (config/duration.ts). */
function isDuration(r: Resolver, n: Node): boolean {
  const alts = alternatives(n).map((a) => r.resolve(a).node);
  if (alts.length !== 2) return false;
  const pattern = alts.some(
    (a) => a.type === 'string' && typeof a.pattern === 'string' && a.pattern.includes('ms|s|m|h|d'),
  );
  const zero = alts.some((a) => a.const === 0);
  return pattern && zero;
}

const isRecord = (n: Node): boolean => isNode(n.additionalProperties) || isNode(n.patternProperties);
const hasProperties = (n: Node): boolean => isNode(n.properties) && Object.keys(n.properties).length > 0;

/** Whether keys sit below this node (a map, a list of maps, or alternatives one of which is). */
function isContainer(r: Resolver, node: Node, refs: readonly string[] = []): boolean {
  const { node: n, refs: seen } = r.resolve(node, refs);
  if (hasProperties(n) || isRecord(n)) return true;
  if (isNode(n.items)) return isContainer(r, n.items, seen);
  return alternatives(n).some((a) => isContainer(r, a, seen));
}

/** A value as YAML writes it inline (quoted where a plain scalar would mean something else). */
const yaml = (v: unknown): string => YAML.stringify(v, { collectionStyle: 'flow', lineWidth: 0 }).trim();

const ticks = (text: string): string => (text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``);
/** A value in backticks, as it is written in the file. */
const code = (v: unknown): string => ticks(yaml(v));

function range(n: Node): string {
  const min = typeof n.minimum === 'number' && n.minimum > -MAX_SAFE ? n.minimum : undefined;
  const max = typeof n.maximum === 'number' && n.maximum < MAX_SAFE ? n.maximum : undefined;
  if (min !== undefined && max !== undefined) return ` ${min}–${max}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return '';
}

function typeText(r: Resolver, node: Node, refs: readonly string[] = []): string {
  const { node: n, refs: seen } = r.resolve(node, refs);
  if (isDuration(r, n)) return 'duration';
  if ('const' in n) return code(n.const);
  if (Array.isArray(n.enum)) return `one of ${n.enum.map(code).join(', ')}`;
  const alts = alternatives(n);
  if (alts.length) return alts.map((a) => typeText(r, a, seen)).join(' or ');
  const t = n.type;
  if (Array.isArray(t)) return t.map((one) => typeText(r, { ...n, type: one }, seen)).join(' or ');
  switch (t) {
    case 'integer':
    case 'number':
      return `${t}${range(n)}`;
    case 'string':
    case 'boolean':
    case 'null':
      return t;
    case 'array': {
      const items = isNode(n.items) ? n.items : {};
      const list = typeof n.minItems === 'number' && n.minItems > 0 ? 'non-empty list' : 'list';
      if (isContainer(r, items, seen)) return `${list} of maps`;
      const inner = r.resolve(items, seen).node;
      if (Array.isArray(inner.enum)) return `${list}, each one of ${inner.enum.map(code).join(', ')}`;
      return `${list} of ${typeText(r, items, seen)}`;
    }
    case 'object': {
      if (hasProperties(n)) return 'map';
      const patterns = isNode(n.patternProperties) ? Object.values(n.patternProperties).filter(isNode) : [];
      const values = isNode(n.additionalProperties) ? n.additionalProperties : patterns[0];
      if (values) return isContainer(r, values, seen) ? 'map by name' : `map of ${typeText(r, values, seen)}`;
      return 'map';
    }
    default:
      return 'any';
  }
}

/** A duration written in the schema as milliseconds reads as the config writes it (`600000` → `10m`). */
function asWritten(r: Resolver, n: Node, v: unknown): unknown {
  return isDuration(r, n) && typeof v === 'number' && v !== 0 ? formatDuration(v) : v;
}

function defaultText(r: Resolver, n: Node, required: boolean): string {
  if ('default' in n) {
    const v = n.default;
    // A section whose default is {}: its keys' defaults apply (they are listed below it).
    if (isNode(v) && Object.keys(v).length === 0 && hasProperties(n)) return '';
    return code(asWritten(r, n, v));
  }
  return required ? '**required**' : '';
}

function exampleText(r: Resolver, n: Node, key: string): string {
  if (key === NAME || key.endsWith('[]')) return '';
  const given = Array.isArray(n.examples) && n.examples.length ? n.examples[0] : 'example' in n ? n.example : undefined;
  let v = given;
  if (v === undefined && 'default' in n) {
    if (isContainer(r, n) && isNode(n.default) && Object.keys(n.default).length === 0) return '';
    v = n.default;
  }
  if (v === undefined) return '';
  return ticks(`${key}: ${yaml(asWritten(r, n, v))}`);
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** Every key of the config, parents before their children, in the schema's order. */
export function configKeys(schema: Node = configJsonSchema()): KeyDoc[] {
  const r = new Resolver(schema);
  const out: KeyDoc[] = [];
  const seen = new Set<string>();

  /** Where each $ref was first expanded: a recursive schema's inner copy points there. */
  const expandedAt = new Map<string, string>();

  const walk = (node: Node, path: string, key: string, required: boolean, refs: readonly string[]): void => {
    const { node: n, refs: here } = r.resolve(node, refs);
    for (const ref of here) if (!expandedAt.has(ref)) expandedAt.set(ref, path);
    const cycle = typeof n.$ref === 'string' ? expandedAt.get(n.$ref) : undefined;
    if (path && !seen.has(path)) {
      seen.add(path);
      out.push({
        path,
        type: cycle !== undefined ? `like \`${cycle || '(the top level)'}\`` : typeText(r, n, refs),
        default: defaultText(r, n, required),
        example: exampleText(r, n, key),
        description: typeof n.description === 'string' ? oneLine(n.description) : '',
      });
    }
    // A $ref back into its own chain (a recursive schema) is listed, not followed again.
    if (cycle !== undefined) return;
    const join = (k: string) => (path ? `${path}.${k}` : k);
    if (isNode(n.properties)) {
      const req = new Set(Array.isArray(n.required) ? n.required : []);
      for (const [k, v] of Object.entries(n.properties)) if (isNode(v)) walk(v, join(k), k, req.has(k), here);
    }
    for (const values of [
      n.additionalProperties,
      ...(isNode(n.patternProperties) ? Object.values(n.patternProperties) : []),
    ])
      if (isNode(values)) walk(values, join(NAME), NAME, false, here);
    if (isNode(n.items) && isContainer(r, n.items, here)) walk(n.items, `${path}[]`, `${key}[]`, false, here);
    // Alternatives that are maps put their keys at this same path (the first one's row wins).
    for (const alt of alternatives(n)) if (isContainer(r, alt, here)) walk(alt, path, key, false, here);
  };

  walk(schema, '', '', false, []);
  return out;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** The generated part of docs/config.md (without its markers). */
export function configReference(schema: Node = configJsonSchema()): string {
  const keys = configKeys(schema);
  const lines = [
    '## Key reference',
    '',
    "Generated from the schema by `npm run docs`; the texts are the schema's own (`.describe()` in",
    '`src/config/schema*.ts`, also shown by `uplink schema`), so edit them there, not here.',
    '`<name>` stands for a name you choose (an uplink, a job, a variable), `[]` for each entry of a',
    "list. A duration is a string such as `500ms`, `5s`, `1m30s`, or `0`. Example: the schema's, or",
    'the default written out.',
  ];
  const top = (path: string) => path.split(/[.[]/)[0]!;
  const sections = [...new Set(keys.map((k) => top(k.path)))];
  for (const section of sections) {
    const rows = keys.filter((k) => top(k.path) === section);
    lines.push('', `### \`${section}\``, '');
    lines.push('| Key | Type | Default | Example | Description |', '|---|---|---|---|---|');
    for (const k of rows)
      lines.push(
        `| \`${k.path}\` | ${cell(k.type)} | ${cell(k.default)} | ${cell(k.example)} | ${cell(k.description)} |`,
      );
  }
  return `${lines.join('\n')}\n`;
}

/** `doc` with the text between the GENERATED markers replaced by `reference`. */
export function spliceReference(doc: string, reference: string): string {
  const begin = doc.indexOf(GENERATED_BEGIN);
  const end = doc.indexOf(GENERATED_END);
  if (begin < 0 || end < begin) throw new Error(`no ${GENERATED_BEGIN} … ${GENERATED_END} block`);
  return `${doc.slice(0, begin + GENERATED_BEGIN.length)}\n${reference}${doc.slice(end)}`;
}

/** The text between the GENERATED markers, or undefined without them. */
export function generatedBlock(doc: string): string | undefined {
  const begin = doc.indexOf(GENERATED_BEGIN);
  const end = doc.indexOf(GENERATED_END);
  if (begin < 0 || end < begin) return undefined;
  return doc.slice(begin + GENERATED_BEGIN.length + 1, end);
}
