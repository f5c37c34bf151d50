/** The lease file folded into the lease now (src/dhcp/lease.ts), table-driven; and the udhcpc command line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldLeases, maskLength, parseLeaseLine } from '../../src/dhcp/lease.js';
import { udhcpcCommand } from '../../src/dhcp/client.js';

const T0 = 1_800_000_000; // seconds
const line = (dt: number, pid: number, event: string, kv = '') => `${T0 + dt} ${pid} ${event} ${kv}`;
const bound = (dt: number, pid: number, ip = '198.51.100.2', lease = 120) =>
  line(dt, pid, 'bound', `ip=${ip} subnet=255.255.255.0 router=198.51.100.1 lease=${lease} serverid=198.51.100.1`);
const renew = (dt: number, pid: number, ip = '198.51.100.2') =>
  line(dt, pid, 'renew', `ip=${ip} subnet=255.255.255.0 router=198.51.100.1 lease=120 serverid=198.51.100.1`);

const cases: { name: string; lines: string[]; nowDt: number; address?: string; lost?: RegExp; failing?: boolean }[] = [
  { name: 'empty file → no lease', lines: [], nowDt: 0 },
  {
    name: 'start-up deconfig, then bound → the lease',
    lines: [line(0, 7, 'deconfig'), bound(1, 7)],
    nowDt: 2,
    address: '198.51.100.2',
  },
  {
    name: 'a restarted client (new pid) says deconfig first: not a loss',
    lines: [line(0, 7, 'deconfig'), bound(1, 7), line(50, 9, 'deconfig')],
    nowDt: 51,
    address: '198.51.100.2',
  },
  {
    name: 'deconfig later from the same client → lost',
    lines: [line(0, 7, 'deconfig'), bound(1, 7), line(121, 7, 'deconfig')],
    nowDt: 122,
    lost: /lost/,
  },
  {
    name: 'renewals keep it, and move its expiry',
    lines: [bound(0, 7), renew(60, 7), renew(120, 7)],
    nowDt: 170,
    address: '198.51.100.2',
  },
  { name: 'past its expiry with no renewal → expired', lines: [bound(0, 7)], nowDt: 121, lost: /expired/ },
  {
    name: 'NAK, deconfig, new bound → the new address',
    lines: [bound(0, 7), line(60, 7, 'nak'), line(60, 7, 'deconfig'), bound(62, 7, '198.51.100.5')],
    nowDt: 63,
    address: '198.51.100.5',
  },
  {
    name: 'leasefail while the lease holds → still leased, server silent',
    lines: [bound(0, 7), line(80, 7, 'leasefail')],
    nowDt: 81,
    address: '198.51.100.2',
    failing: true,
  },
  {
    name: 'a torn last line is skipped',
    lines: [bound(0, 7), `${T0 + 5} 7 ren`.slice(0, 9)],
    nowDt: 6,
    address: '198.51.100.2',
  },
  {
    name: 'garbage from the server (no IP) is no lease',
    lines: [line(0, 7, 'bound', 'ip=not-an-ip subnet=255.255.255.0')],
    nowDt: 1,
  },
];

for (const c of cases) {
  test(`foldLeases: ${c.name}`, () => {
    const st = foldLeases(c.lines.join('\n'), (T0 + c.nowDt) * 1000);
    assert.equal(st.lease?.address, c.address);
    if (c.lost) assert.match(st.lost ?? '', c.lost);
    assert.equal(st.failingSinceMs !== undefined, !!c.failing);
  });
}

test('parseLeaseLine: fields, prefix length from the mask, first router only as the script writes it', () => {
  const e = parseLeaseLine(bound(0, 42));
  assert.deepEqual(e, {
    atMs: T0 * 1000,
    pid: 42,
    event: 'bound',
    ip: '198.51.100.2',
    prefixlen: 24,
    router: '198.51.100.1',
    leaseS: 120,
    serverId: '198.51.100.1',
  });
  assert.equal(maskLength('255.255.255.252'), 30);
  assert.equal(maskLength('255.0.255.0'), undefined);
  assert.equal(maskLength('0.0.0.0'), 0);
});

test('udhcpcCommand: foreground, our script, gateway timing, -r with the address held, quoted', () => {
  assert.equal(
    udhcpcCommand({ iface: 'wan1', script: '/var/lib/uplinkd/dhcp/udhcpc.script', requestIp: '198.51.100.2' }),
    "exec busybox udhcpc -f -i 'wan1' -s '/var/lib/uplinkd/dhcp/udhcpc.script' -T 2 -t 5 -A 5 -r '198.51.100.2'",
  );
  assert.match(udhcpcCommand({ iface: "it's", script: '/s' }), /-i 'it'\\''s'/);
});

test('the udhcpc script appends one line per event, never fails, and keeps the file small', async () => {
  const { mkdtempSync, writeFileSync, readFileSync, statSync, rmSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { UDHCPC_SCRIPT, LEASE_FILE_ENV, LEASE_FILE_MAX_BYTES } = await import('../../src/dhcp/client.js');
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-dhcp-'));
  try {
    const script = join(dir, 'udhcpc.script');
    writeFileSync(script, UDHCPC_SCRIPT, { mode: 0o700 });
    const lease = join(dir, 'wan1.lease');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      [LEASE_FILE_ENV]: lease,
      ip: '198.51.100.2',
      subnet: '255.255.255.0',
      router: '198.51.100.1 198.51.100.254',
      lease: '120',
      serverid: '198.51.100.1',
    };
    execFileSync(script, ['bound'], { env });
    const first = parseLeaseLine(readFileSync(lease, 'utf8').trim());
    assert.equal(first?.event, 'bound');
    assert.equal(first?.router, '198.51.100.1', 'the first router');
    assert.equal(first?.prefixlen, 24);
    assert.equal(first?.pid, process.pid, '$PPID: the client that ran the script');
    // Without the lease file variable it does nothing, and still succeeds.
    execFileSync(script, ['deconfig'], { env: { PATH: env.PATH } });
    for (let i = 0; i < 400; i++) execFileSync(script, ['leasefail'], { env });
    assert.ok(statSync(lease).size <= LEASE_FILE_MAX_BYTES + 200, 'cut to its last lines');
    assert.equal(foldLeases(readFileSync(lease, 'utf8'), Date.now()).last?.event, 'leasefail');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
