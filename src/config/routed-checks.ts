/**
 * Cross-checks of routed prefixes (lan[].routed, via) against the uplinks and each other. Like
 * the other cross-checks they run on a config that may have failed elsewhere: read defensively.
 */
import { closest } from './errors.js';
import { isIPv4 } from './net.js';
import { contains4, overlap4, prefix4, type Prefix4 } from './prefix4.js';
import { checkRoutedPrefix } from './schema-sections.js';

type Path = (string | number)[];
type Obj = Record<string, unknown>;
export type AddIssue = (path: Path, input: unknown, message: string, hint?: string) => void;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);

/** A routed prefix the schema accepts (the schema has said what is wrong with the others). */
const usablePrefix = (s: string): boolean => checkRoutedPrefix(s) === undefined;

/** The uplink addresses a routed prefix must not contain: its static address and gateway. */
function uplinkAddresses(uplinks: [string, Obj][]): { name: string; key: string; ip: string }[] {
  return uplinks.flatMap(([name, u]) => {
    const out: { name: string; key: string; ip: string }[] = [];
    const addr = typeof u.address === 'string' ? u.address.split('/')[0]! : '';
    if (isIPv4(addr)) out.push({ name, key: 'address', ip: addr });
    if (typeof u.gateway === 'string' && isIPv4(u.gateway)) out.push({ name, key: 'gateway', ip: u.gateway });
    return out;
  });
}

export function checkRouted(lan: Obj[], uplinks: [string, Obj][], add: AddIssue): void {
  const modes = new Map(uplinks.map(([n, u]) => [n, typeof u.mode === 'string' ? u.mode : 'always']));
  const names = [...modes.keys()];
  const own = uplinkAddresses(uplinks);
  const seen: { p: Prefix4; text: string; at: string }[] = [];
  lan.forEach((l, i) => {
    strings(l.via).forEach((v, j) => {
      const mode = modes.get(v);
      if (mode === undefined) {
        const near = closest(v, names);
        add(
          ['lan', i, 'via', j],
          v,
          `unknown uplink "${v}"`,
          `${near ? `did you mean "${near}"? ` : ''}configured uplinks: ${names.join(', ') || 'none'}`,
        );
      } else if (mode !== 'always' && mode !== 'backup')
        add(
          ['lan', i, 'via', j],
          v,
          `via uplink "${v}" is mode ${mode}`,
          'a routed prefix needs an uplink that is up by itself: mode always or backup',
        );
    });
    strings(l.routed).forEach((text, j) => {
      if (!usablePrefix(text)) return;
      const p = prefix4(text);
      const path = ['lan', i, 'routed', j];
      const clash = seen.find((s) => overlap4(s.p, p));
      if (clash)
        add(
          path,
          text,
          `routed prefix ${text} overlaps ${clash.text} (${clash.at})`,
          'list each public address in one routed prefix only',
        );
      seen.push({ p, text, at: `lan[${i}].routed[${j}]` });
      for (const o of own.filter((a) => contains4(p, a.ip)))
        add(
          path,
          text,
          `routed prefix ${text} contains uplink ${o.name}'s ${o.key} ${o.ip}`,
          "the routed block sits behind the gateway; the uplink's own network is a different one (check the ISP's papers)",
        );
    });
  });
}

/** How many tables routed LAN entries take (one each). */
export const routedEntryCount = (lan: Obj[]): number => lan.filter((l) => strings(l.routed).length > 0).length;
