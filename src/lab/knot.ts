/**
 * A real DNS primary in the lab: Knot DNS (Debian's `knot`) serving one zone that accepts
 * RFC 2136 updates signed with one HMAC-SHA256 TSIG key. Tests read the zone back with
 * `kdig`, so an update counts only when the server itself took it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, type Ns, type NsProcess } from './harness.js';

export interface KnotOptions {
  zone: string;
  /** The address it listens on, port 53, inside the namespace. */
  address: string;
  keyName: string;
  /** Base64, as in knot.conf and in the secrets file. */
  secret: string;
}

export interface Knot {
  proc: NsProcess;
  /** The answer's records (`kdig +short`), empty when the name has none. */
  query(name: string, type: string): Promise<string[]>;
}

function knotConf(dir: string, o: KnotOptions): string {
  return `server:
  rundir: ${dir}/run
  listen: ${o.address}@53
log:
  - target: stderr
    any: info
database:
  storage: ${dir}/db
key:
  - id: ${o.keyName}
    algorithm: hmac-sha256
    secret: ${o.secret}
acl:
  - id: update
    key: ${o.keyName}
    action: update
template:
  - id: default
    storage: ${dir}/zones
zone:
  - domain: ${o.zone}
    acl: update
    file: ${o.zone}.zone
`;
}

function zoneFile(zone: string, address: string): string {
  return `$TTL 60
@ SOA ns.${zone}. hostmaster.${zone}. 1 60 60 600 60
@ NS ns.${zone}.
ns A ${address}
`;
}

/** Starts knotd in `ns` and waits until it answers for the zone; the lab stops it. */
export async function startKnot(ns: Ns, o: KnotOptions): Promise<Knot> {
  const dir = mkdtempSync(join(tmpdir(), `${ns.name}-knot-`));
  ns.lab.onTeardown(async () => rmSync(dir, { recursive: true, force: true }));
  for (const sub of ['run', 'db', 'zones']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'zones', `${o.zone}.zone`), zoneFile(o.zone, o.address));
  const conf = join(dir, 'knot.conf');
  writeFileSync(conf, knotConf(dir, o));
  const proc = ns.spawn('knotd', ['-c', conf]);
  const query = async (name: string, type: string): Promise<string[]> => {
    const r = await ns.exec(['kdig', `@${o.address}`, '+short', '+time=1', '+retry=0', name, type], { check: false });
    return r.stdout.split('\n').filter((l) => l.trim() !== '');
  };
  await waitFor(async () => (await query(o.zone, 'SOA')).length === 1, { timeoutMs: 10_000, what: 'knotd answers' });
  return { proc, query };
}
