/**
 * The condition language of `jobs.NAME.when` (docs/jobs.md), parsed with columns so that
 * `uplink check` can point inside the expression:
 *
 *   cond  := or
 *   or    := and ('or' and)*
 *   and   := not ('and' not)*
 *   not   := 'not' not | '(' cond ')' | test
 *   test  := FLAG | VALUE ('==' | '!=') STRING | 'address' '(' IFACE ')' 'in' CIDR
 *   FLAG  := default.up | uplink.NAME.up | uplink.NAME.selected | job.NAME.running
 *   VALUE := default.uplink | uplink.NAME.state | uplink.NAME.address | default.address
 *
 * Names are checked against the config by the cross-checks (config/job-checks.ts).
 */
import { checkCidr, checkIfname } from './net.js';

export type Flag =
  | { kind: 'default.up' }
  | { kind: 'uplink.up' | 'uplink.selected'; uplink: string }
  | { kind: 'job.running'; job: string };
export type Value =
  | { kind: 'default.uplink' | 'default.address' }
  | { kind: 'uplink.state' | 'uplink.address'; uplink: string };

/** Where a name or value sits in the text (1-based column), for errors found after parsing. */
export interface At {
  column: number;
}

export type Cond =
  | ({ op: 'flag'; flag: Flag; text: string } & At)
  | ({ op: 'cmp'; value: Value; neg: boolean; literal: string; literalAt: number; text: string } & At)
  | ({ op: 'addr'; iface: string; cidr: string; text: string } & At)
  | { op: 'not'; arg: Cond }
  | { op: 'and' | 'or'; args: Cond[] };

export class CondError extends Error {
  constructor(
    message: string,
    readonly column: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

interface Tok {
  t: 'word' | 'str' | 'op' | 'end';
  v: string;
  col: number;
}

const WORD = /[A-Za-z0-9_.:/-]/;

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const col = i + 1;
    if (c === '(' || c === ')') {
      out.push({ t: 'op', v: c, col });
      i++;
    } else if (c === '=' || c === '!') {
      if (text[i + 1] !== '=') throw new CondError(`"${c}" is not an operator`, col, 'compare with == or !=');
      out.push({ t: 'op', v: `${c}=`, col });
      i += 2;
    } else if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new CondError('the string is not closed', col, `end it with ${c}`);
      out.push({ t: 'str', v: text.slice(i + 1, end), col });
      i = end + 1;
    } else if (WORD.test(c)) {
      let j = i;
      while (j < text.length && WORD.test(text[j]!)) j++;
      out.push({ t: 'word', v: text.slice(i, j), col });
      i = j;
    } else {
      throw new CondError(`unexpected "${c}"`, col, 'conditions use names, ==, !=, and, or, not and parentheses');
    }
  }
  out.push({ t: 'end', v: '', col: text.length + 1 });
  return out;
}

const FLAGS = 'default.up, uplink.NAME.up, uplink.NAME.selected, job.NAME.running';
const VALUES = 'default.uplink, default.address, uplink.NAME.state, uplink.NAME.address';

/** A value name (`default.uplink`, `uplink.NAME.address`, …) as a Value; undefined if it is none. */
export function parseValueRef(name: string): Value | undefined {
  const r = reference(name);
  return r && 'value' in r ? r.value : undefined;
}

/** A dotted name as a flag or a value; undefined when it is neither. */
function reference(name: string): { flag: Flag } | { value: Value } | undefined {
  if (name === 'default.up') return { flag: { kind: 'default.up' } };
  if (name === 'default.uplink') return { value: { kind: 'default.uplink' } };
  if (name === 'default.address') return { value: { kind: 'default.address' } };
  const m = /^(uplink|job)\.([a-z][a-z0-9_-]{0,30})\.([a-z]+)$/.exec(name);
  if (!m) return undefined;
  const [, scope, id, field] = m as unknown as [string, 'uplink' | 'job', string, string];
  if (scope === 'job') return field === 'running' ? { flag: { kind: 'job.running', job: id } } : undefined;
  if (field === 'up' || field === 'selected') return { flag: { kind: `uplink.${field}`, uplink: id } };
  if (field === 'state' || field === 'address') return { value: { kind: `uplink.${field}`, uplink: id } };
  return undefined;
}

/** Why a word is no known name, with a hint: the field or the shape is wrong. */
function unknownName(name: string, col: number): CondError {
  const m = /^(uplink|job)\.([^.]+)\.(.+)$/.exec(name);
  if (m?.[1] === 'uplink')
    return new CondError(
      `uplink field "${m[3]}" is unknown`,
      col + m[1].length + m[2]!.length + 2,
      'uplink fields: up, selected, state, address',
    );
  if (m?.[1] === 'job')
    return new CondError(`job field "${m[3]}" is unknown`, col + m[1].length + m[2]!.length + 2, 'job fields: running');
  if (name.startsWith('default.'))
    return new CondError(`"${name}" is unknown`, col, 'default fields: up, uplink, address');
  return new CondError(`"${name}" is not a condition`, col, `write one of ${FLAGS}, or compare ${VALUES} with ==`);
}

export function parseCondition(text: string): Cond {
  const toks = tokenize(text);
  let k = 0;
  const peek = () => toks[k]!;
  const next = () => toks[k++]!;
  const isWord = (v: string) => peek().t === 'word' && peek().v === v;
  /** The next token, which must be `v` (an operator or a keyword). */
  const expect = (v: string, hint: string) => {
    const t = next();
    if (t.v !== v || t.t === 'str') throw new CondError(`"${v}" expected`, t.col, hint);
  };

  function or(): Cond {
    const args = [and()];
    while (isWord('or')) {
      next();
      args.push(and());
    }
    return args.length === 1 ? args[0]! : { op: 'or', args };
  }
  function and(): Cond {
    const args = [not()];
    while (isWord('and')) {
      next();
      args.push(not());
    }
    return args.length === 1 ? args[0]! : { op: 'and', args };
  }
  function not(): Cond {
    if (isWord('not')) {
      next();
      return { op: 'not', arg: not() };
    }
    const t = peek();
    if (t.t === 'op' && t.v === '(') {
      next();
      const inner = or();
      expect(')', 'close the parenthesis');
      return inner;
    }
    return test();
  }
  function test(): Cond {
    const t = next();
    if (t.t === 'end') throw new CondError('a condition is missing', t.col, `write one of ${FLAGS}`);
    if (t.t !== 'word' || ['and', 'or', 'not', 'in'].includes(t.v))
      throw new CondError(`"${t.v}" cannot start a condition`, t.col, `write one of ${FLAGS}`);
    if (t.v === 'address') return addressTest(t);
    const ref = reference(t.v);
    if (!ref) throw unknownName(t.v, t.col);
    if ('flag' in ref) {
      const o = peek();
      if (o.t === 'op' && (o.v === '==' || o.v === '!='))
        throw new CondError(`${t.v} is true or false, not a value`, o.col, `write ${t.v}, or not ${t.v}`);
      return { op: 'flag', flag: ref.flag, text: t.v, column: t.col };
    }
    const o = next();
    if (o.t !== 'op' || (o.v !== '==' && o.v !== '!='))
      throw new CondError(
        `${t.v} is a value: compare it`,
        o.col,
        `e.g. ${t.v} == "${t.v.endsWith('state') ? 'up' : 'fiber'}"`,
      );
    const lit = next();
    if (lit.t !== 'str' && lit.t !== 'word')
      throw new CondError('a value to compare with is missing', lit.col, `e.g. ${t.v} ${o.v} "fiber"`);
    return {
      op: 'cmp',
      value: ref.value,
      neg: o.v === '!=',
      literal: lit.v,
      literalAt: lit.col,
      text: `${t.v} ${o.v} "${lit.v}"`,
      column: t.col,
    };
  }
  function addressTest(t: Tok): Cond {
    const form = 'write address(IFACE) in CIDR';
    expect('(', form);
    const ifc = next();
    const bad = ifc.t === 'word' ? checkIfname(ifc.v) : 'an interface name is missing';
    if (bad)
      throw new CondError(
        bad.split(' — ')[0]!,
        ifc.col,
        'write address(IFACE) in CIDR, e.g. address(ppp0) in 10.64.0.0/10',
      );
    expect(')', form);
    expect('in', form);
    const net = next();
    const badNet = net.t === 'word' ? checkCidr(net.v) : 'a CIDR is missing';
    if (badNet) throw new CondError(badNet.split(' — ')[0]!, net.col, 'e.g. 198.51.100.0/24');
    return { op: 'addr', iface: ifc.v, cidr: net.v, text: `address(${ifc.v}) in ${net.v}`, column: t.col };
  }

  const cond = or();
  const rest = peek();
  if (rest.t !== 'end') throw new CondError(`unexpected "${rest.v}"`, rest.col, 'join conditions with and / or');
  return cond;
}

export type CondTest = Extract<Cond, { op: 'flag' | 'cmp' | 'addr' }>;

/** Every test in a condition (for name checks and dependency cycles). */
export function conditionTests(c: Cond): CondTest[] {
  if (c.op === 'not') return conditionTests(c.arg);
  if ('args' in c) return c.args.flatMap(conditionTests);
  return [c];
}
