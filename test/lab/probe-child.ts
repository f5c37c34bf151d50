/**
 * Helper for test/lab/probe.test.ts, run inside a lab namespace with `ip netns exec`.
 *
 *   node probe-child.js probe [--no-widen] [--raw]
 *     A Prober in this process (so in this namespace). Prints {"ready":true,"icmpMode":..}
 *     on stdout, then answers JSON lines from stdin, one JSON line each on stdout:
 *       {"id":1,"req":{...}}      -> {"id":1,"result":{...},"elapsedMs":..}
 *       {"id":2,"reqs":[...]}     -> {"id":2,"results":[...],"elapsedMs":..}   (concurrently)
 *       {"id":3,"cmd":"mode"}     -> {"id":3,"icmpMode":".."}
 *       {"id":4,"cmd":"stop"}     -> {"id":4,"stopped":true}; then the process must exit by itself
 *     pino logs go to stderr.
 *
 *   node probe-child.js serve [ADDRESS...]
 *     Test servers: HTTP on port 8080 (/ok 200, /redirect 302, anything else 500) and a
 *     DNS responder on UDP 53 (on the given addresses, else on every IPv4 and IPv6
 *     address). Prints "serving".
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { isIPv4 } from 'node:net';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { buildResponse, parseHeader } from '../../src/system/probe/dns-packet.js';
import { Prober } from '../../src/system/probe/prober.js';
import type { ProbeRequest } from '../../src/system/probe/types.js';

const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function probe(args: string[]): Promise<void> {
  const log = pino({ level: 'info' }, pino.destination({ dest: 2, sync: true }));
  const prober = new Prober(log, {
    widenPingGroupRange: !args.includes('--no-widen'),
    icmp: args.includes('--raw') ? 'raw' : 'auto',
  });
  await prober.start();
  out({ ready: true, icmpMode: prober.icmpMode });
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const m = JSON.parse(line) as { id: number; req?: ProbeRequest; reqs?: ProbeRequest[]; cmd?: string };
    const t0 = performance.now();
    const elapsed = () => performance.now() - t0;
    if (m.req) void prober.probe(m.req).then((result) => out({ id: m.id, result, elapsedMs: elapsed() }));
    else if (m.reqs)
      void Promise.all(m.reqs.map((r) => prober.probe(r))).then((results) =>
        out({ id: m.id, results, elapsedMs: elapsed() }),
      );
    else if (m.cmd === 'mode') out({ id: m.id, icmpMode: prober.icmpMode });
    else if (m.cmd === 'stop') {
      rl.close(); // stdin no longer holds the process
      process.stdin.destroy();
      void prober.stop().then(() => out({ id: m.id, stopped: true }));
    }
  });
}

async function serve(addrs: string[]): Promise<void> {
  const http = createServer((req, res) => {
    if (req.url === '/ok') res.writeHead(200).end('ok\n');
    else if (req.url === '/redirect') res.writeHead(302, { location: '/ok' }).end();
    else res.writeHead(500).end('broken\n');
  });
  await new Promise<void>((r) => http.listen({ host: '::', port: 8080, ipv6Only: false }, r));
  // A wildcard UDP socket answers from the outgoing route's source address, which a
  // multi-homed server's clients reject: with addresses given, bind to each of them.
  const binds = addrs.length
    ? addrs.map((h) => [isIPv4(h) ? 'udp4' : 'udp6', h] as const)
    : ([
        ['udp4', '0.0.0.0'],
        ['udp6', '::'],
      ] as const);
  for (const [type, host] of binds) {
    const s = createSocket({ type, ipv6Only: type === 'udp6' });
    s.on('message', (msg, rinfo) => {
      const h = parseHeader(msg);
      if (h && !h.qr) s.send(buildResponse(msg, 0), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => s.bind(53, host, r));
  }
  out('serving');
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'probe') await probe(rest);
else if (mode === 'serve') await serve(rest);
else {
  process.stderr.write('usage: probe-child.js probe [--no-widen] [--raw] | serve [ADDRESS...]\n');
  process.exit(2);
}
