/**
 * A route-event producer for the benches that is faster than what it feeds: N blackhole /32
 * routes (10.x.y.z, as test/lab/routes.ts's floodBatch) added to (or deleted from) TABLE by
 * batched RTM_NEWROUTE / RTM_DELROUTE requests over one rtnetlink socket, ~600 to a send and
 * without ACKs (the kernel reports errors only), so the kernel and the listeners being
 * measured are the limit, not `ip -batch` parsing a line per route. The last request asks
 * for an ACK: once it is answered every earlier one was handled.
 * Run it inside a namespace: node dist/src/lab/route-flood.js N TABLE [add|del]
 * Prints one JSON line: { routes, errors, firstError, seconds }.
 */
import * as C from '../system/netlink/constants.js';
import { errorCode, messages } from '../system/netlink/codec.js';
import { routeRequest } from '../system/netlink/route-msg.js';
import { NetlinkSocket } from '../system/netlink/socket.js';
import { strerror } from '../system/libc.js';

const BATCH_BYTES = 32 << 10; // well under the socket's default send buffer (~208 KB)
const RTPROT_STATIC = 4; // as `ip route add` marks its routes

function main(): void {
  const n = Number(process.argv[2]);
  const table = Number(process.argv[3] ?? 100);
  const op = process.argv[4] === 'del' ? 'del' : 'add';
  if (!(n > 0) || !(table > 0)) throw new Error('usage: route-flood.js N TABLE [add|del]');
  // One request built by the daemon's own encoder; each route is that request with its
  // sequence number and its destination (RTA_DST, the last attribute) patched in.
  const spec = {
    family: 4,
    table,
    protocol: RTPROT_STATIC,
    type: 'blackhole',
    dst: '10.0.0.0',
    dstLen: 32,
    metric: 0,
  } as const;
  const template = routeRequest(op, spec, undefined, 0);
  const size = template.length;
  if (template.readUInt16LE(size - 8) !== 8 || template.readUInt16LE(size - 6) !== C.RTA_DST) {
    throw new Error('route-flood: RTA_DST is not the request’s last attribute');
  }
  const noAck = template.readUInt16LE(6) & ~C.NLM_F_ACK;
  const sock = new NetlinkSocket(0, 4 << 20);
  const reply = Buffer.alloc(1 << 16);
  const perBatch = Math.floor(BATCH_BYTES / size);
  const batch = Buffer.alloc(perBatch * size);
  let errors = 0;
  let firstError: string | undefined;
  let acked = false;
  /** Reads what the kernel answered so far; true once the last route's ACK came. */
  const drain = (): boolean => {
    for (;;) {
      const got = sock.recv(reply);
      if (!got) return acked;
      for (const m of messages(reply, got)) {
        if (m.type !== C.NLMSG_ERROR) continue;
        const code = errorCode(m);
        if (code) {
          errors++;
          firstError ??= strerror(code);
        }
        if (m.seq === n) acked = true;
      }
    }
  };
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const k = Math.min(perBatch, n - i);
    for (let j = 0; j < k; j++, i++) {
      const at = j * size;
      template.copy(batch, at);
      batch.writeUInt32LE(i + 1, at + 8);
      batch.writeUInt32BE((10 << 24) | (i & 0xffffff), at + size - 4);
      // The last route of all asks for the ACK that says the kernel is through.
      batch.writeUInt16LE(i === n - 1 ? template.readUInt16LE(6) : noAck, at + 6);
    }
    sock.send(batch.subarray(0, k * size));
    drain();
  }
  const deadline = performance.now() + 30_000;
  while (!drain()) {
    if (performance.now() > deadline) throw new Error('route-flood: no ACK for the last route in 30 s');
    sock.wait(1000);
  }
  const seconds = (performance.now() - t0) / 1000;
  sock.close();
  console.log(JSON.stringify({ routes: n, errors, firstError, seconds: +seconds.toFixed(3) }));
}

main();
