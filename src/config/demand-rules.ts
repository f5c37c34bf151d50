/**
 * The demand rule language (diald's model): which packets dial a demand uplink, which keep
 * it up and for how long. `demand.rules` lists rules like "ignore udp port 123" or
 * "accept tcp syn 30s"; the first rule that matches a packet decides. Parsing and printing
 * live here with the config they come from; matching packets is demand/rules.ts. Pure.
 */
import { checkDuration, formatDuration } from './duration.js';
import { suggest } from './errors.js';

export type DemandAction = 'accept' | 'bringup' | 'keepup' | 'ignore';
export interface PortRange {
  first: number;
  last: number;
}
export interface DemandRule {
  text: string;
  action: DemandAction;
  proto: 'any' | 'tcp' | 'udp' | 'icmp';
  port?: PortRange;
  sport?: PortRange;
  dport?: PortRange;
  /** Normalised CIDRs ("10.0.0.0/8", "192.0.2.1/32"). */
  host?: string;
  from?: string;
  to?: string;
  direction?: 'in' | 'out';
  syn?: true;
  fin?: true;
  /** How long a match holds the link; undefined: the uplink's idle. */
  timeoutMs?: number;
}

export class RuleError extends Error {
  /** `column`: 1-based column of the offending token in the rule text. */
  constructor(
    message: string,
    readonly column: number,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'RuleError';
  }
}

const ACTIONS = ['accept', 'bringup', 'keepup', 'ignore'] as const;
const PROTOS = ['any', 'tcp', 'udp', 'icmp'] as const;
const PORT_WORDS = ['port', 'sport', 'dport'] as const;
const ADDR_WORDS = ['host', 'from', 'to'] as const;
const WORDS = [...PROTOS, ...PORT_WORDS, ...ADDR_WORDS, 'in', 'out', 'syn', 'fin'];

const isOneOf = <T extends string>(list: readonly T[], w: string): w is T => (list as readonly string[]).includes(w);

interface Token {
  word: string;
  col: number;
}
const tokenize = (text: string): Token[] => [...text.matchAll(/\S+/g)].map((m) => ({ word: m[0], col: m.index + 1 }));

/** "did you mean", with a plain answer when only the case is wrong (the language is lowercase). */
function unknownHint(word: string, known: readonly string[], what: string): string {
  if (isOneOf(known, word.toLowerCase())) return `write "${word.toLowerCase()}" (rules are lowercase)`;
  return suggest(word, known, what);
}

function parsePorts(t: Token): PortRange {
  const m = /^(\d+)(?:-(\d+))?$/.exec(t.word);
  if (!m)
    throw new RuleError(`"${t.word}" is not a port`, t.col, 'a port is a number 1-65535 or a range like 8000-8100');
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  for (const n of [first, last]) {
    if (n < 1 || n > 65535) throw new RuleError(`port ${n} is out of range`, t.col, 'ports are 1-65535');
  }
  if (last < first) throw new RuleError(`"${t.word}" is a backwards range`, t.col, `write ${last}-${first}`);
  return { first, last };
}

/** Prefix length → netmask. `<< 32` is `<< 0` in JS, hence /0 by hand. */
export const maskOf = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
export const ipToInt = (s: string): number => s.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
const intToIp = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

function parseCidr(t: Token): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(t.word);
  if (!m) {
    const hint = t.word.includes(':')
      ? 'demand rules see IPv4 packets only'
      : 'write an address like 192.0.2.1 or a network like 10.0.0.0/8';
    throw new RuleError(`"${t.word}" is not an IPv4 address or network`, t.col, hint);
  }
  const octets = m.slice(1, 5) as string[];
  if (octets.some((o) => Number(o) > 255))
    throw new RuleError(`"${t.word}" is not an IPv4 address`, t.col, 'each part is 0-255');
  // Some tools read a leading zero as octal; refuse rather than guess what was meant.
  if (octets.some((o) => o.length > 1 && o.startsWith('0'))) {
    throw new RuleError(
      `"${t.word}" has a part with a leading zero`,
      t.col,
      `write ${t.word.replace(/\b0+(\d)/g, '$1')}`,
    );
  }
  const len = m[5] === undefined ? 32 : Number(m[5]);
  if (len > 32) throw new RuleError(`"/${len}" is not an IPv4 prefix length`, t.col, 'a prefix length is 0-32');
  return `${intToIp((ipToInt(octets.join('.')) & maskOf(len)) >>> 0)}/${len}`;
}

/** The rule rewritten with `proto` in the protocol slot (for hints). */
function withProto(toks: Token[], hasProto: boolean, proto: string, drop?: Token): string {
  const rest = toks
    .slice(hasProto ? 2 : 1)
    .filter((t) => t !== drop)
    .map((t) => t.word);
  return [toks[0]!.word, proto, ...rest].join(' ');
}

/** Parses one rule; throws RuleError pointing at the offending word. */
export function parseRule(text: string): DemandRule {
  const toks = tokenize(text);
  const head = toks[0];
  if (!head) throw new RuleError('empty rule', 1, 'write e.g. "accept any" or "ignore udp port 123"');
  if (!isOneOf(ACTIONS, head.word)) {
    const hint = isOneOf(WORDS, head.word)
      ? `a rule starts with accept, bringup, keepup or ignore, e.g. "accept ${text.trim()}"`
      : unknownHint(head.word, ACTIONS, 'actions');
    throw new RuleError(`unknown action "${head.word}"`, head.col, hint);
  }
  const rule: DemandRule = { text, action: head.word, proto: 'any' };
  const hasProto = toks[1] !== undefined && isOneOf(PROTOS, toks[1].word);
  if (hasProto) rule.proto = toks[1]!.word as DemandRule['proto'];
  // A misplaced protocol first: it explains later complaints ("port needs tcp or udp").
  const stray = toks.slice(hasProto ? 2 : 1).find((t) => isOneOf(PROTOS, t.word));
  if (stray) {
    const hint = hasProto
      ? 'a rule names one protocol; write one rule per protocol'
      : `write "${withProto(toks, false, stray.word, stray)}"`;
    throw new RuleError(
      hasProto ? `a second protocol "${stray.word}"` : 'the protocol comes right after the action',
      stray.col,
      hint,
    );
  }
  const seen = new Set<string>();
  const once = (key: string, t: Token) => {
    if (seen.has(key))
      throw new RuleError(
        `"${t.word}" given twice`,
        t.col,
        'each matcher may appear once per rule; write another rule for more',
      );
    seen.add(key);
  };
  for (let i = hasProto ? 2 : 1; i < toks.length; i++) {
    const t = toks[i]!;
    const w = t.word;
    if (/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(w)) {
      throw new RuleError(
        `"${w}" needs host, from or to before it`,
        t.col,
        `write "host ${w}" (either end), "from ${w}" or "to ${w}"`,
      );
    } else if (/^[\d.]/.test(w)) {
      if (i !== toks.length - 1) {
        // "30 sec" is a duration written loosely, not a misplaced one.
        const loose = checkDuration(
          toks
            .slice(i)
            .map((x) => x.word)
            .join(' '),
        );
        if (!loose.ok && loose.hint.startsWith('write ')) throw new RuleError(loose.message, t.col, loose.hint);
        throw new RuleError(
          'the timeout comes last',
          t.col,
          `write "${[...toks.filter((x) => x !== t).map((x) => x.word), w].join(' ')}"`,
        );
      }
      const d = checkDuration(w);
      if (!d.ok) throw new RuleError(d.message, t.col, d.hint);
      if (rule.action === 'ignore' || rule.action === 'bringup') {
        const why = rule.action === 'ignore' ? 'ignored packets hold nothing' : 'bringup only dials and holds nothing';
        throw new RuleError(`${rule.action} takes no timeout`, t.col, `${why}; use accept or keepup for a timeout`);
      }
      rule.timeoutMs = d.ms;
    } else if (isOneOf(PORT_WORDS, w) || isOneOf(ADDR_WORDS, w)) {
      once(w, t);
      const isPort = isOneOf(PORT_WORDS, w);
      if (isPort && rule.proto === 'icmp') throw new RuleError('icmp has no ports', t.col, 'ports need tcp or udp');
      if (isPort && rule.proto === 'any') {
        throw new RuleError(
          `"${w}" needs tcp or udp`,
          t.col,
          `write "${withProto(toks, hasProto, 'tcp')}" or "${withProto(toks, hasProto, 'udp')}"`,
        );
      }
      const v = toks[++i];
      if (!v) {
        throw new RuleError(
          `"${w}" needs a value`,
          t.col,
          isPort ? `e.g. ${w} 80 or ${w} 8000-8100` : `e.g. ${w} 192.0.2.1 or ${w} 10.0.0.0/8`,
        );
      }
      if (isOneOf(PORT_WORDS, w)) rule[w] = parsePorts(v);
      else rule[w as 'host' | 'from' | 'to'] = parseCidr(v);
    } else if (w === 'in' || w === 'out') {
      if (rule.direction !== undefined && rule.direction !== w) {
        throw new RuleError(`"${w}" contradicts "${rule.direction}"`, t.col, 'leave the direction out to match both');
      }
      once('direction', t);
      rule.direction = w;
    } else if (w === 'syn' || w === 'fin') {
      once(w, t);
      if (rule.proto !== 'tcp')
        throw new RuleError(`"${w}" needs tcp`, t.col, `write "${withProto(toks, hasProto, 'tcp')}"`);
      // A SYN without ACK that also has FIN or RST set is an attack probe, not traffic.
      if (seen.has('syn') && seen.has('fin'))
        throw new RuleError(
          'syn and fin exclude each other',
          t.col,
          'a new connection is not a closing one; write two rules',
        );
      rule[w] = true;
    } else {
      throw new RuleError(`unknown word "${w}"`, t.col, unknownHint(w, WORDS, 'known words'));
    }
  }
  return rule;
}

/** Parses every rule, collecting all errors instead of stopping at the first. */
export function parseRules(texts: string[]): { rules: DemandRule[]; errors: { index: number; error: RuleError }[] } {
  const rules: DemandRule[] = [];
  const errors: { index: number; error: RuleError }[] = [];
  texts.forEach((text, index) => {
    try {
      rules.push(parseRule(text));
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      errors.push({ index, error });
    }
  });
  return { rules, errors };
}

/**
 * Used when demand.rules is empty. Order matters (first match wins): background chatter
 * first, then the short holds, so they win over the catch-alls below them.
 */
export const DEFAULT_RULES: string[] = [
  'ignore udp port 123', // NTP polls forever; it must never dial or hold a link
  'ignore udp port 137-138', // NetBIOS name and datagram broadcasts from Windows hosts
  'accept udp port 53 10s', // a lookup dials (a connection follows), the answer alone holds briefly
  'keepup tcp fin 5s', // a closing connection: redialing for it is pointless, holding it long too
  'accept tcp syn 30s', // a new connection dials; its data packets take over from there
  'accept tcp', // established TCP holds the link for the uplink's idle
  'accept any', // everything else: dial and hold for idle
];

const showPorts = (r: PortRange): string => (r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`);
const showCidr = (c: string): string => c.replace(/\/32$/, '');

/** The rule in canonical form ("accept tcp out syn dport 80 30s"); parses back to the same rule. */
export function describeRule(r: DemandRule): string {
  const m: string[] = [];
  if (r.direction) m.push(r.direction);
  if (r.syn) m.push('syn');
  if (r.fin) m.push('fin');
  for (const k of PORT_WORDS) if (r[k]) m.push(k, showPorts(r[k]));
  for (const k of ADDR_WORDS) if (r[k] !== undefined) m.push(k, showCidr(r[k]));
  const proto = r.proto !== 'any' || m.length === 0 ? [r.proto] : [];
  const timeout = r.timeoutMs === undefined ? [] : [formatDuration(r.timeoutMs)];
  return [r.action, ...proto, ...m, ...timeout].join(' ');
}
