/** Finding YAML nodes by key path, and key paths by source offset. */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';

export type KeyPath = readonly PropertyKey[];

/** `uplinks.dsl.probe.interval`, `lan[1].zone`, `uplinks["bad name"]`. */
export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      out += /^[A-Za-z0-9_-]+$/.test(s) ? (out ? `.${s}` : s) : `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

function keyText(pair: Pair): string {
  const k = pair.key;
  if (isScalar(k)) return String(k.value);
  return String(k);
}

function deref(node: unknown, doc: Document): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

export interface Located {
  /** The deepest node found on the path (the value's node when the whole path exists). */
  node: Node | undefined;
  /** The key node of the last pair walked, when the last segment named a map key. */
  key: Node | undefined;
  /** Whether the whole path exists in the document. */
  complete: boolean;
}

/** Walks `path` through the document; stops at the deepest node that exists. */
export function locate(doc: Document, path: KeyPath): Located {
  let node: unknown = doc.contents ?? undefined;
  let key: Node | undefined;
  for (let i = 0; i < path.length; i++) {
    const cur = deref(node, doc);
    const seg = path[i];
    let next: unknown;
    let nextKey: Node | undefined;
    if (isMap(cur)) {
      const pair = [...cur.items].reverse().find((p) => keyText(p) === String(seg));
      if (pair) {
        next = pair.value ?? undefined;
        nextKey = isScalar(pair.key) || isMap(pair.key) || isSeq(pair.key) ? (pair.key as Node) : undefined;
        if (next === undefined || (isScalar(next) && next.value === null)) {
          // `key:` with no value: point at the key.
          return { node: nextKey ?? (cur as Node), key: nextKey, complete: i === path.length - 1 };
        }
      }
    } else if (isSeq(cur) && typeof seg === 'number') {
      next = cur.items[seg];
    }
    if (next === undefined) return { node: (node as Node | undefined) ?? undefined, key, complete: false };
    node = next;
    key = nextKey;
  }
  return { node: node as Node | undefined, key, complete: true };
}

export interface Position {
  line: number;
  column: number;
}

export function positionOf(node: Node | undefined, lc: LineCounter): Position {
  const offset = node?.range?.[0];
  if (offset === undefined) return { line: 1, column: 1 };
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

export function offsetPosition(offset: number, lc: LineCounter): Position {
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

/**
 * The key path of the deepest map entry or sequence item whose value covers `offset`
 * (a key that itself covers the offset is not included: it may be the broken part).
 */
export function pathAtOffset(doc: Document, offset: number): PropertyKey[] {
  const path: PropertyKey[] = [];
  let node: unknown = doc.contents;
  const covers = (n: unknown): boolean => {
    const r = (n as Node | null)?.range;
    return !!r && offset >= r[0] && offset <= r[2];
  };
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && covers(p.value) && !covers(p.key));
      if (!pair) return path;
      path.push(keyText(pair));
      node = pair.value;
    } else if (isSeq(node)) {
      const i = node.items.findIndex((n) => covers(n));
      if (i < 0) return path;
      path.push(i);
      node = node.items[i];
    } else return path;
  }
}

/** The key path of the map key that starts exactly at `offset` (e.g. a duplicate key). */
export function keyPathAtOffset(doc: Document, offset: number): PropertyKey[] | undefined {
  const walk = (node: unknown, path: PropertyKey[]): PropertyKey[] | undefined => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const here = [...path, keyText(pair)];
        if ((pair.key as Node | null)?.range?.[0] === offset) return here;
        const found = walk(pair.value, here);
        if (found) return found;
      }
    } else if (isSeq(node)) {
      for (let i = 0; i < node.items.length; i++) {
        const found = walk(node.items[i], [...path, i]);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(doc.contents, []);
}

/** Start offsets of the top-level keys, in order, with their names. */
export function topLevelSections(doc: Document): { name: string; start: number }[] {
  const c = doc.contents;
  if (!isMap(c)) return [];
  return c.items
    .map((p) => ({ name: keyText(p), start: (p.key as Node | null)?.range?.[0] ?? -1 }))
    .filter((s) => s.start >= 0);
}
