/** The ruleset difference between two configs, item by item (pure; for `uplink plan`). */
import type { Config } from '../config/schema.js';
import { firewallEnabled, firewallInput } from './input.js';
import { renderTable } from './render.js';

interface Item {
  /** The whole item: two items are the same only when this is. */
  key: string;
  /** What a person reads: a rule's comment, a set's or map's elements. */
  text: string;
}

type Body = { name?: string; chain?: string; comment?: string; elem?: unknown[]; hook?: string };

function describe(kind: string, b: Body): string {
  if (kind === 'rule') return `rule in ${b.chain}: ${b.comment ?? '(no comment)'}`;
  if (kind === 'set' || kind === 'map') return `${kind} ${b.name}: ${JSON.stringify(b.elem ?? [])}`;
  if (kind === 'chain') return `chain ${b.name}${b.hook ? ` (${b.hook} hook)` : ''}`;
  return `${kind} ${b.name ?? ''}`.trim();
}

function items(cfg: Config | undefined): Item[] {
  if (!cfg || !firewallEnabled(cfg)) return [];
  return renderTable(firewallInput(cfg, 0)).nftables.flatMap((o) => {
    const [kind, body] = Object.entries(o as Record<string, Body>)[0]!;
    // The generation marker differs every time by design: not a change.
    if (kind === 'set' && body.name === 'generation') return [];
    return [{ key: `${kind} ${JSON.stringify(body)}`, text: describe(kind, body) }];
  });
}

export function diffRulesets(current: Config | undefined, next: Config): { added: string[]; removed: string[] } {
  const a = items(current);
  const b = items(next);
  const inA = new Set(a.map((x) => x.key));
  const inB = new Set(b.map((x) => x.key));
  return {
    added: b.filter((x) => !inA.has(x.key)).map((x) => x.text),
    removed: a.filter((x) => !inB.has(x.key)).map((x) => x.text),
  };
}
