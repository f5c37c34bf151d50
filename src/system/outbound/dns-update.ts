/**
 * RFC 2136 DNS UPDATE of one name, signed with TSIG, over UDP from a chosen source address:
 * delete the name's RRset of that type, add the new address. Network and DNS failures are
 * results, not throws; a NOERROR reply counts only when its own TSIG verifies.
 */
import type * as Dgram from 'node:dgram';
import { builtin } from '../../lazy.js';
import { urandom } from '../random.js';
import { isIPv6 } from 'node:net';
import type { DnsUpdateRequest, DnsUpdateResult } from '../../model/dns-update.js';
import { canonicalName, parseTsig, signMessage, TSIG_ERRORS, verifyMessage } from './tsig.js';

export type { DnsUpdateRequest, DnsUpdateResult } from '../../model/dns-update.js';

const dgram = builtin<typeof Dgram>('node:dgram');

const RCODES = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];
/** The server's trouble, or a lost packet: worth another try later. */
const RETRYABLE = new Set(['SERVFAIL', 'TIMEOUT', 'NETWORK']);
/** BADTIME: the clock is off (no RTC, NTP not there yet) and will be fixed; retrying is right. */
const RETRYABLE_TSIG = new Set(['BADTIME']);
const TRIES = 3;
const OPCODE_UPDATE = 5;
const TYPE = { A: 1, AAAA: 28 } as const;
const TYPE_SOA = 6;
const CLASS_IN = 1;
const CLASS_ANY = 255;

function rr(name: Buffer, type: number, cls: number, ttl: number, rdata: Buffer): Buffer {
  const h = Buffer.alloc(10);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(cls, 2);
  h.writeUInt32BE(ttl, 4);
  h.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([name, h, rdata]);
}

function addressBytes(address: string): Buffer {
  if (!isIPv6(address)) return Buffer.from(address.split('.').map(Number));
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(
    groups.map((g) => {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(Number.parseInt(g, 16));
      return b;
    }),
  );
}

/** The unsigned UPDATE message. */
export function updateMessage(r: DnsUpdateRequest, id: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4); // zone
  header.writeUInt16BE(0, 6); // prerequisites
  header.writeUInt16BE(2, 8); // updates
  header.writeUInt16BE(0, 10); // additional
  const zone = Buffer.concat([canonicalName(r.zone), Buffer.from([0, TYPE_SOA, 0, CLASS_IN])]);
  const name = canonicalName(r.name);
  return Buffer.concat([
    header,
    zone,
    rr(name, TYPE[r.type], CLASS_ANY, 0, Buffer.alloc(0)),
    rr(name, TYPE[r.type], CLASS_IN, r.ttl, addressBytes(r.address)),
  ]);
}

export async function dnsUpdate(r: DnsUpdateRequest): Promise<DnsUpdateResult> {
  const id = urandom(2).readUInt16BE(0);
  const key = { name: r.key.name, secret: Buffer.from(r.key.secret, 'base64') };
  const { message: signed, mac } = signMessage(updateMessage(r, id), key);
  const where = `${r.server}:${r.port ?? 53}`;
  let reply: Buffer;
  try {
    reply = await exchange(r, signed, id);
  } catch (e) {
    const timeout = (e as Error).message === 'TIMEOUT';
    const rcode = timeout ? 'TIMEOUT' : 'NETWORK';
    return result(
      rcode,
      undefined,
      timeout ? `no answer from ${where} in ${r.timeoutMs} ms` : `${where}: ${(e as Error).message}`,
    );
  }
  const rcode = RCODES[reply.readUInt16BE(2) & 0xf] ?? `RCODE${reply.readUInt16BE(2) & 0xf}`;
  const t = tsigOf(reply);
  const tsigError = t?.error ? (TSIG_ERRORS[t.error] ?? `TSIG error ${t.error}`) : undefined;
  // A server answers a signed request signed, or with a TSIG error record; a bare error may be forged.
  if (rcode !== 'NOERROR' && !t)
    return {
      ok: false,
      rcode,
      retryable: true,
      message: `${where} answered ${rcode} without TSIG; not trusted, retrying`,
    };
  if (rcode === 'NOERROR' && !verifyMessage(reply, key, { requestMac: mac }).ok)
    return result('BADREPLY', undefined, `${where} answered NOERROR without a valid TSIG signature`);
  if (rcode === 'NOERROR')
    return { ok: true, rcode, retryable: false, message: `${r.name} ${r.type} ${r.address} accepted by ${where}` };
  const why =
    tsigError === 'BADSIG'
      ? `: the server refused the key "${r.key.name}" (BADSIG); check the secret`
      : tsigError === 'BADKEY'
        ? `: the server does not know the key "${r.key.name}" (BADKEY); check the key's name`
        : tsigError === 'BADTIME'
          ? ': clock skew between the gateway and the server (BADTIME); fix the time (NTP)'
          : '';
  return result(rcode, tsigError, `${where} answered ${rcode}${why}`);
}

/** The reply's TSIG record, or none when it has none or does not parse. */
function tsigOf(reply: Buffer) {
  try {
    return parseTsig(reply);
  } catch {
    return undefined;
  }
}

function result(rcode: string, tsigError: string | undefined, message: string): DnsUpdateResult {
  return {
    ok: false,
    rcode,
    ...(tsigError ? { tsigError } : {}),
    retryable: tsigError ? RETRYABLE_TSIG.has(tsigError) : RETRYABLE.has(rcode),
    message,
  };
}

/** Sends and re-sends over UDP until a reply with our id comes, or the budget runs out. */
function exchange(r: DnsUpdateRequest, msg: Buffer, id: number): Promise<Buffer> {
  const sock = dgram().createSocket(isIPv6(r.server) ? 'udp6' : 'udp4');
  return new Promise<Buffer>((resolve, reject) => {
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const done = (fn: () => void) => {
      clearTimeout(timer);
      sock.close();
      fn();
    };
    const send = () => {
      if (sent++ >= TRIES) return done(() => reject(new Error('TIMEOUT')));
      sock.send(msg, port, r.server, (e) => e && done(() => reject(e)));
      timer = setTimeout(send, r.timeoutMs / TRIES);
    };
    sock.on('error', (e) => done(() => reject(e)));
    const port = r.port ?? 53;
    sock.on('message', (m, from) => {
      // Only the server's own answer to this request: anything else on the port is ignored.
      if (from.address !== r.server || from.port !== port) return;
      if (m.length >= 12 && m.readUInt16BE(0) === id && m[2]! & 0x80) done(() => resolve(m));
    });
    sock.bind({ address: r.localAddress ?? (isIPv6(r.server) ? '::' : '0.0.0.0'), port: 0 }, send);
  });
}
