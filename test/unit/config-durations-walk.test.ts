/**
 * Every duration key of the schema, found by walking its JSON Schema (so a new key is walked
 * without anyone listing it), with a huge value: past a year (or the key's own limit) it is
 * refused with a hint; at its longest it is accepted, and a daemon running it on the fake
 * System arms no timer Node would cut to 1 ms, probes no faster and dials no more than written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parse, stringify } from 'yaml';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { checkConfigText, parseConfigText } from '../../src/config/load.js';
import { Controller } from '../../src/daemon/controller.js';
import { MAX_TIMER_MS } from '../../src/model/timer.js';
import { kernelWithTwoUplinks, link } from './fixtures.js';

type Json = Record<string, unknown>;
const BASE = `control: { state_dir: /fake/state, socket: /fake/uplinkd.sock }
defaults: { probe: { profile: fast } }
uplinks:
  wan1: { interface: wan1, priority: 10, gateway: 198.51.100.1, failback_delay: 0s }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: 203.0.113.1 }
  lte: { interface: ppp1, mode: backup, priority: 30, connect: "pppd call lte nodetach" }
  dsl: { interface: ppp0, mode: demand, priority: 40, connect: "pppd call isp nodetach" }
lan:
  - { interface: lan0, zone: lan }
demand: { rules: [accept any] }
jobs:
  vpn: { run: "openvpn --config /etc/openvpn/office.conf", restart: always }
hooks: { dir: /etc/uplinkd/hooks.d }
announce:
  - { uplink: wan1, command: /bin/true }
notify:
  - { events: ['*'], command: /bin/true }
`;

/** Keys that must stay below a sibling (probe timeout < interval, backoff ≤ max_backoff). */
const RAISED_WITH: Record<string, Record<string, string>> = {
  'probe.timeout': { interval: '365d' },
  'redial.backoff': { max_backoff: '365d' },
  '*.restart_delay': { max_restart_delay: '365d' },
  'retry.backoff': { max_backoff: '365d' },
};

/** Paths of every duration in the schema: `*` for each entry of a map, `[]` for each list item. */
function durationPaths(): string[][] {
  const out: string[][] = [];
  const walk = (n: unknown, path: string[]) => {
    if (!n || typeof n !== 'object') return;
    const node = n as Json;
    const alts = (node.anyOf ?? node.oneOf) as Json[] | undefined;
    if (alts?.some((a) => typeof a.pattern === 'string' && a.pattern.includes('ms|s|m|h|d'))) {
      out.push(path);
      return;
    }
    for (const [k, v] of Object.entries((node.properties as Json | undefined) ?? {})) walk(v, [...path, k]);
    if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, [...path, '*']);
    if (node.items) walk(node.items, [...path, '[]']);
    for (const a of alts ?? []) walk(a, path);
  };
  walk(configJsonSchema(), []);
  return out;
}

/** One config per place the path lands in BASE (each uplink, each job…), with the value set. */
function placed(path: string[], value: string): string[] {
  const variants: string[] = [];
  const go = (obj: Json, i: number, root: Json) => {
    const k = path[i]!;
    if (i === path.length - 1) {
      obj[k] = value;
      // A key bounded by a sibling takes the sibling along.
      for (const [sib, v] of Object.entries(RAISED_WITH[`${path[i - 1]}.${k}`] ?? {})) obj[sib] ??= v;
      variants.push(stringify(root));
      return;
    }
    if (k === '*' || k === '[]') {
      for (const key of Object.keys(obj)) {
        const copy = structuredClone(root);
        go(dig(copy, [...path.slice(0, i), key]), i + 1, copy);
      }
      return;
    }
    obj[k] ??= {};
    go(obj[k] as Json, i + 1, root);
  };
  const dig = (o: Json, keys: string[]) => keys.reduce((x, key) => (x[key] ??= {}) as Json, o);
  const root = parse(BASE) as Json;
  go(root, 0, root);
  return variants;
}

/**
 * The longest value the key takes: 366d is refused with "must be at most X"; X may be refused
 * in turn by a tighter limit of the key's own, which names the next X.
 */
function longest(path: string[]): { refused: string; max: string } {
  let value = '366d';
  let refused = '';
  for (let step = 0; step < 3; step++) {
    const texts = placed(path, value);
    if (step > 0 && texts.some((t) => checkConfigText(t, 'walk.yaml').config)) return { refused, max: value };
    const hints = texts
      .flatMap((t) => checkConfigText(t, 'walk.yaml').problems)
      .filter((p) => /too long/.test(p.message));
    const m = hints.map((p) => /must be at most (\S+)/.exec(p.hint ?? '')).find(Boolean);
    if (!m) break;
    refused ||= `${hints[0]!.message} — ${hints[0]!.hint}`;
    value = m[1]!;
  }
  return { refused, max: '' };
}

const paths = durationPaths();

test('the walk finds the duration keys (a schema change that hides them fails here)', () => {
  const names = paths.map((p) => p.join('.'));
  for (const known of ['uplinks.*.probe.interval', 'uplinks.*.max_connect', 'uplinks.*.redial.backoff'])
    assert.ok(names.includes(known), `${known} in ${names.join(', ')}`);
  assert.ok(paths.length >= 15, `${paths.length} duration keys`);
});

for (const path of paths) {
  const name = path.join('.');
  test(`duration ${name}: past its limit refused with a hint; at its limit it runs as written`, async () => {
    const { refused, max } = longest(path);
    assert.ok(max, `366d in ${name} must be refused with "must be at most …"`);
    assert.match(refused, /too long — must be at most/);
    const accepted = placed(path, max).filter((t) => checkConfigText(t, 'walk.yaml').config);
    assert.ok(accepted.length > 0, `${name}: ${max} is accepted somewhere in the base config`);
    for (const text of accepted) await runsAsWritten(name, text);
  });
}

/** 400 ms of a daemon on the fake System: no overflowing timer, no probe storm, no dial storm. */
async function runsAsWritten(name: string, text: string): Promise<void> {
  const system = kernelWithTwoUplinks();
  system.kernel.links.set(4, link(4, 'lan0'));
  let probes = 0;
  system.probeAnswer = () => (probes++, { ok: true, rttMs: 1 });
  const overflow: number[] = [];
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  const real = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval };
  const guard =
    <F extends (...a: never[]) => unknown>(f: F) =>
    (fn: () => void, ms?: number, ...rest: unknown[]) => {
      if ((ms ?? 0) > MAX_TIMER_MS) overflow.push(ms!);
      return (f as unknown as (...a: unknown[]) => unknown)(fn, ms, ...rest);
    };
  process.on('warning', onWarning);
  globalThis.setTimeout = guard(real.setTimeout) as typeof setTimeout;
  globalThis.setInterval = guard(real.setInterval) as typeof setInterval;
  const ctl = new Controller({
    configPath: 'walk.yaml',
    config: parseConfigText(text, 'walk.yaml'),
    system,
    log: pino({ level: 'silent' }),
  });
  const t0 = Date.now();
  let probed = 0;
  let elapsed = 0;
  try {
    await ctl.start();
    // Each dial fails at once: a re-dial must wait its backoff, however long.
    const end = Date.now() + 400;
    while (Date.now() < end) {
      for (const p of system.processes) p.exit(1);
      await new Promise((r) => real.setTimeout(r, 20));
    }
    probed = probes;
    elapsed = Date.now() - t0;
  } finally {
    await ctl.stop('test');
    globalThis.setTimeout = real.setTimeout;
    globalThis.setInterval = real.setInterval;
    process.off('warning', onWarning);
  }
  assert.deepEqual(overflow, [], `${name}: timers past Node's limit`);
  assert.deepEqual(
    warnings.filter((w) => w === 'TimeoutOverflowWarning'),
    [],
    name,
  );
  // fast profile: a round every 200 ms of the two uplinks with a gateway, one target each.
  const rounds = Math.ceil(elapsed / 200) + 1;
  assert.ok(probed <= 2 * rounds, `${name}: ${probed} probes in ${elapsed} ms`);
  // redial backoff is at least 10 s by default: one dial per command uplink at most.
  // Connect commands only: announce and notify commands are not dials.
  const dials = system.processes.filter((p) => 'command' in p.o && /pppd/.test(p.o.command)).length;
  assert.ok(dials <= 2, `${name}: ${dials} dials in 400 ms`);
}
