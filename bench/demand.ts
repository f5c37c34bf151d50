/**
 * bench/demand: dial cycles through a demand uplink (half UDP, half TCP SYN triggers).
 * A TCP trigger counts as lost when its connection arrives more than 900 ms after link-up
 * (that is the kernel's SYN retransmission, not our replay). Each cycle: the link is idle and hung up; the LAN sends its trigger (UDP: 5 datagrams
 * 10 ms apart; TCP: one connect); the modem "dials" (50 ms), the held packets are
 * replayed; then the link idles out again. Counts packets lost (goal 0) and the delay
 * from link-up (stamped by the connect command right after `ip link set wan0 up`) to the
 * first replayed packet at the server (goal ≤ 20 ms p99). Peer: the one-way time of a
 * fresh datagram sent while the link is up, i.e. what the kernel alone delivers. Times are
 * wall clock (Date.now(), `date +%s%N`; 1 ms resolution) across namespaces.
 * Prints one JSON line. Usage: node dist/bench/demand.js [CYCLES]
 */
import { readFileSync } from 'node:fs';
import { Lab, waitFor } from '../src/lab/harness.js';
import { startDaemon } from '../src/lab/daemon.js';
import { demandConfig, demandTopology } from '../src/lab/demand.js';
import { SERVER } from '../src/lab/topology.js';

const NOW = 'const now = () => Date.now();';
const SERVER_JS = `${NOW}
const d = require('node:dgram').createSocket('udp4');
d.on('message', (m) => console.log('udp ' + m + ' ' + now()));
d.bind(7000, '${SERVER}');
require('node:net').createServer((c) => { console.log('tcp ' + now()); c.end(); }).listen(8080, '${SERVER}', () => console.log('listening'));`;
const UDP = (cycle: number, n: number) => `${NOW} const s = require('node:dgram').createSocket('udp4'); let i = 0;
const one = () => s.send(\`${cycle}:\${i}:\${now()}\`, 7000, '${SERVER}', () => { if (++i < ${n}) setTimeout(one, 10); else setTimeout(() => process.exit(0), 20); }); one();`;
const TCP = `const s = require('node:net').connect(8080, '${SERVER}', () => { console.log('ok'); s.destroy(); }); s.setTimeout(5000, () => { console.log('timeout'); process.exit(1); }); s.on('error', (e) => { console.log('ERR ' + e.code); process.exit(1); });`;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100 : undefined;
};

async function main(): Promise<void> {
  const cycles = Number(process.argv[2] ?? 200);
  const lab = await new Lab().start();
  try {
    const topo = await demandTopology(lab);
    const stamps = lab.tempFile('linkup', '');
    const cfg = demandConfig(topo, { idle: '1s', dialMs: 50 }).replace(
      'ip link set dev wan0 up;',
      `ip link set dev wan0 up; date +%s%N >> ${stamps};`,
    );
    const d = await startDaemon(lab, topo.gw, cfg);
    const srv = topo.inet.spawn(process.execPath, ['-e', SERVER_JS]);
    await srv.waitForLine(/listening/);
    const viaProxy = async () => / dev dod-dsl /.test((await topo.gw.ip(['route', 'get', SERVER])).stdout);
    const delays: number[] = [],
      peer: number[] = [];
    const byKind: Record<'udp' | 'tcp', number[]> = { udp: [], tcp: [] };
    let sent = 0,
      lost = 0;
    for (let c = 0; c < cycles; c++) {
      await waitFor(viaProxy, { timeoutMs: 10_000, what: `idle hang-up before cycle ${c}` });
      const before = srv.lines('stdout').length;
      const stampsBefore = readFileSync(stamps, 'utf8').trim().split('\n').filter(Boolean).length;
      const udp = c % 2 === 0;
      if (udp) await topo.lan.exec([process.execPath, '-e', UDP(c, 5)]);
      else await topo.lan.exec([process.execPath, '-e', TCP], { check: false });
      sent += udp ? 5 : 1;
      await waitFor(() => srv.lines('stdout').length >= before + (udp ? 5 : 1), {
        timeoutMs: 3000,
        what: 'delivery',
      }).catch(() => undefined);
      const got = srv.lines('stdout').slice(before);
      lost += Math.max(0, (udp ? 5 : 1) - got.length);
      const up = readFileSync(stamps, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(BigInt(l) / 1000n) / 1000);
      const linkUp = up[stampsBefore];
      const first = got[0] ? Number(got[0].split(' ').at(-1)) : undefined;
      // A SYN that was not replayed shows up as the kernel's retransmission, a second or more later.
      if (!udp && linkUp !== undefined && first !== undefined && first - linkUp > 900) lost++;
      if (linkUp !== undefined && first !== undefined) {
        delays.push(first - linkUp);
        byKind[udp ? 'udp' : 'tcp'].push(first - linkUp);
      }
      // Peer: a fresh datagram while the link is up.
      if (udp) {
        const b2 = srv.lines('stdout').length;
        await topo.lan.exec([process.execPath, '-e', UDP(c + 100000, 1)]);
        await waitFor(() => srv.lines('stdout').length > b2, { timeoutMs: 2000, what: 'fresh datagram' }).catch(
          () => undefined,
        );
        const l = srv.lines('stdout')[b2];
        if (l) peer.push(Number(l.split(' ')[2]) - Number(l.split(' ')[1]!.split(':')[2]));
      }
    }
    const st = (await d.status()).uplinks.find((u) => u.name === 'dsl')!;
    console.log(
      JSON.stringify({
        bench: 'demand',
        cycles,
        dials: st.dial?.attempts,
        packetsSent: sent,
        packetsLost: lost,
        replayDelayMs: { p50: pct(delays, 50), p99: pct(delays, 99), max: pct(delays, 100), n: delays.length },
        replayDelayUdpMs: { p50: pct(byKind.udp, 50), p99: pct(byKind.udp, 99) },
        replayDelayTcpMs: { p50: pct(byKind.tcp, 50), p99: pct(byKind.tcp, 99) },
        peerFreshOneWayMs: { p50: pct(peer, 50), p99: pct(peer, 99), n: peer.length },
        queue: st.demand?.queue,
        goals: { packetsLost: 0, replayDelayP99Ms: 20 },
      }),
    );
  } finally {
    await lab.teardown();
  }
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
