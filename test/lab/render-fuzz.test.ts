/**
 * Standing property test of the nftables renderer: random valid configs (uplinks with and
 * without snat, zones, routed prefixes with their via uplinks and fallbacks, forwards of every
 * shape, input rules, firewall.forward opens, hairpin) render to JSON that the
 * real nft accepts (`nft -c -j -f`, check mode, inside a lab namespace). Configs the schema
 * refuses (overlapping forwards) are skipped and counted. UPLINKD_FUZZ_SCALE multiplies runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { checkConfigText } from '../../src/config/load.js';
import { firewallInput } from '../../src/firewall/input.js';
import { renderRuleset } from '../../src/firewall/render.js';
import { labForTest } from '../../src/lab/harness.js';

const RUNS = Math.round(40 * Number(process.env.UPLINKD_FUZZ_SCALE ?? 1));
const v4host = fc
  .tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 1, max: 254 }))
  .map(([a, b]) => `10.66.${a}.${b}`);
const v6host = fc.integer({ min: 1, max: 0xfffe }).map((n) => `2001:db8:66::${n.toString(16)}`);
const port = fc.integer({ min: 1, max: 65535 });
const ports = fc.oneof(
  port,
  fc.tuple(port, fc.integer({ min: 0, max: 50 })).map(([p, w]) => `${Math.min(p, 65485)}-${Math.min(p, 65485) + w}`),
);
const target = fc.oneof(
  v4host,
  fc.tuple(v4host, port).map(([h, p]) => `${h}:${p}`),
  fc.tuple(v6host, port).map(([h, p]) => `[${h}]:${p}`),
);
const cidr4 = fc
  .tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.constantFrom(8, 16, 24, 32))
  .map(([a, b, len]) =>
    len === 8 ? `${a}.0.0.0/8` : len === 16 ? `${a}.${b}.0.0/16` : len === 24 ? `${a}.${b}.7.0/24` : `${a}.${b}.7.9/32`,
  );

const config = fc
  .record({
    uplinks: fc.uniqueArray(fc.constantFrom('isp1', 'isp2', 'lte', 'dsl'), { minLength: 1, maxLength: 4 }),
    snat: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    zones: fc.uniqueArray(fc.constantFrom('lan', 'dmz', 'guest'), { maxLength: 3 }),
    forwards: fc.array(
      fc.record({
        proto: fc.constantFrom('tcp', 'udp'),
        port: ports,
        to: target,
        uplinkPick: fc.option(fc.nat(3), { nil: undefined }),
        fromPick: fc.option(cidr4, { nil: undefined }),
        zonePick: fc.option(fc.nat(2), { nil: undefined }),
      }),
      { maxLength: 25 },
    ),
    input: fc.array(
      fc.record({ proto: fc.constantFrom('tcp', 'udp'), port: ports, from: fc.option(cidr4, { nil: undefined }) }),
      { maxLength: 4 },
    ),
    // Per zone: routed /28 blocks (distinct, so never overlapping), via picks, fallback.
    routed: fc.array(
      fc.option(
        fc.record({
          blocks: fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 3 }),
          via: fc.uniqueArray(fc.nat(3), { minLength: 1, maxLength: 3 }),
          fallback: fc.constantFrom(undefined, 'masquerade', 'drop'),
        }),
        { nil: undefined },
      ),
      { minLength: 3, maxLength: 3 },
    ),
    opens: fc.array(
      fc.record({
        proto: fc.constantFrom('tcp', 'udp'),
        port: ports,
        to: fc.oneof(
          fc.integer({ min: 0, max: 255 }).map((n) => `192.0.2.${n}`),
          fc.integer({ min: 0, max: 15 }).map((n) => `192.0.2.${n * 16}/28`),
          v6host,
        ),
        from: fc.option(cidr4, { nil: undefined }),
      }),
      { maxLength: 4 },
    ),
  })
  .map((r) => ({
    uplinks: Object.fromEntries(
      r.uplinks.map((n, i) => [n, { interface: `wan${i}`, ...(r.snat[i] ? { snat: `198.51.100.${10 + i}` } : {}) }]),
    ),
    lan: r.zones.map((zone, i) => {
      // Each zone takes its own slice of 192.0.2.0/24 (blocks 0-15 are /28s), so no two overlap.
      const routed = r.routed[i]?.blocks.filter((b) => b % 3 === i);
      if (!routed?.length) return { interface: `lan${i}`, zone };
      const via = [...new Set(r.routed[i]!.via.map((v) => r.uplinks[v % r.uplinks.length]!))];
      const fallback = r.routed[i]!.fallback;
      return {
        interface: `lan${i}`,
        zone,
        routed: routed.map((b) => `192.0.2.${b * 16}/28`),
        via,
        ...(fallback ? { fallback } : {}),
      };
    }),
    forwards: r.forwards.map((f) => ({
      proto: f.proto,
      port: f.port,
      to: f.to,
      ...(f.uplinkPick !== undefined ? { uplink: r.uplinks[f.uplinkPick % r.uplinks.length] } : {}),
      ...(f.fromPick ? { from: [f.fromPick] } : {}),
      ...(f.zonePick !== undefined && r.zones.length ? { zone: r.zones[f.zonePick % r.zones.length] } : {}),
    })),
    firewall: {
      input: r.input.map((i) => ({ proto: i.proto, port: i.port, ...(i.from ? { from: [i.from] } : {}) })),
      // An IPv6 destination takes no IPv4 source (a config error): those are dropped here.
      forward: r.opens.map((o) => ({
        proto: o.proto,
        port: o.port,
        to: o.to,
        ...(o.from && !o.to.includes(':') ? { from: [o.from] } : {}),
      })),
    },
  }));

test('fuzz: random valid configs render to rulesets nft accepts', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  const file = lab.tempFile('ruleset.json', '');
  let rendered = 0;
  let refused = 0;
  let withRouted = 0;
  await fc.assert(
    fc.asyncProperty(config, async (raw) => {
      const { config: cfg } = checkConfigText(stringify(raw), 'fuzz.yaml');
      if (!cfg) return void refused++;
      rendered++;
      if (cfg.lan.some((l) => l.routed)) withRouted++;
      writeFileSync(file, JSON.stringify(renderRuleset(firewallInput(cfg, rendered, ['198.51.100.2']))));
      const r = await gw.exec(['nft', '-c', '-j', '-f', file], { check: false });
      assert.equal(r.code, 0, `nft refused: ${r.stderr}\n${stringify(raw)}`);
    }),
    { numRuns: RUNS },
  );
  t.diagnostic(JSON.stringify({ tried: RUNS, rendered, refusedBySchema: refused, withRouted }));
  assert.ok(withRouted > 0, 'some rendered configs had routed prefixes');
  assert.equal(rendered + refused, RUNS);
  assert.ok(rendered >= RUNS / 2, `${rendered} of ${RUNS} were valid configs`);
});
