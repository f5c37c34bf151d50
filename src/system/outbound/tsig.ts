/**
 * TSIG (RFC 8945) with HMAC-SHA256: signs a DNS message and verifies the server's signed
 * answer. No npm package signs TSIG, and the scheme is small: an HMAC over the message plus
 * a few "TSIG variables", carried in one extra record at the end of the additional section.
 * Pure: no sockets here.
 */
import type * as Crypto from 'node:crypto';
import { builtin } from '../../lazy.js';
import { encodeName } from '../probe/dns-packet.js';

export const HMAC_SHA256 = 'hmac-sha256.';
/** Seconds of clock difference either side accepts; 300 is the RFC's recommendation. */
export const TSIG_FUDGE = 300;
const crypto = builtin<typeof Crypto>('node:crypto');
const TYPE_TSIG = 250;
const CLASS_ANY = 255;
const HEADER = 12;
const ARCOUNT_AT = 10;
const MAC_BYTES = 32; // we send and accept only untruncated HMAC-SHA256

/** TSIG error codes (RFC 8945 §3) as a server reports them in the record's error field. */
export const TSIG_ERRORS: Readonly<Record<number, string>> = {
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  22: 'BADTRUNC',
};

export interface TsigKey {
  name: string;
  /** The decoded secret (configs carry it base64). */
  secret: Buffer;
}

/** A message's TSIG record, as read from the wire. */
export interface TsigRecord {
  /** Lower case, dotted, with the trailing dot: "uplinkd-key." */
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
  /** Where the record starts: everything before it is the message that was signed. */
  offset: number;
}

export type TsigFailure = 'UNSIGNED' | 'FORMERR' | 'BADKEY' | 'BADSIG' | 'BADTIME';
export type TsigVerdict = { ok: true; tsig: TsigRecord } | { ok: false; reason: TsigFailure; tsig?: TsigRecord };

export class DnsFormatError extends Error {}

// ---------------------------------------------------------------------------------------
// Names

/**
 * The canonical wire form (RFC 4034 §6.2: uncompressed, lower case) both sides hash, so a
 * key configured as "Key.Example" still matches the server's "key.example.". Lower-casing the
 * encoded bytes is safe: length bytes are at most 63, below 'A' (65).
 */
export function canonicalName(name: string): Buffer {
  const wire = encodeName(name);
  for (let i = 0; i < wire.length; i++) if (wire[i]! >= 0x41 && wire[i]! <= 0x5a) wire[i]! += 0x20;
  return wire;
}

/** The dotted form of a name as TsigRecord reports it. */
export function dottedName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

// ---------------------------------------------------------------------------------------
// Signing

/** Appends a TSIG record to `message` (ARCOUNT + 1); `mac` is needed to verify the answer. */
export function signMessage(
  message: Buffer,
  key: TsigKey,
  timeSigned = nowSeconds(),
): { message: Buffer; mac: Buffer } {
  if (message.length < HEADER) throw new RangeError('DNS message shorter than its header');
  const vars = { keyName: key.name, timeSigned, fudge: TSIG_FUDGE, error: 0, other: Buffer.alloc(0) };
  const mac = hmac(key, [message, tsigVariables(vars)]);
  const signed = Buffer.concat([message, tsigRecord({ ...vars, mac, originalId: message.readUInt16BE(0) })]);
  signed.writeUInt16BE(message.readUInt16BE(ARCOUNT_AT) + 1, ARCOUNT_AT);
  return { message: signed, mac };
}

interface TsigFields {
  keyName: string;
  timeSigned: number;
  fudge: number;
  error: number;
  other: Buffer;
}

/** RFC 8945 §4.3.3: what is hashed after the message; the record minus type, MAC and id. */
function tsigVariables(f: TsigFields): Buffer {
  const fixed = Buffer.alloc(6);
  fixed.writeUInt16BE(CLASS_ANY, 0); // TTL 0 is the remaining 4 zero bytes
  return Buffer.concat([canonicalName(f.keyName), fixed, canonicalName(HMAC_SHA256), timeFields(f), errorOther(f)]);
}

/** The TSIG resource record as it goes on the wire. */
function tsigRecord(f: TsigFields & { mac: Buffer; originalId: number }): Buffer {
  const macLen = Buffer.alloc(2);
  macLen.writeUInt16BE(f.mac.length);
  const id = Buffer.alloc(2);
  id.writeUInt16BE(f.originalId);
  const rdata = Buffer.concat([canonicalName(HMAC_SHA256), timeFields(f), macLen, f.mac, id, errorOther(f)]);
  const head = Buffer.alloc(10);
  head.writeUInt16BE(TYPE_TSIG, 0);
  head.writeUInt16BE(CLASS_ANY, 2);
  head.writeUInt32BE(0, 4);
  head.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([canonicalName(f.keyName), head, rdata]);
}

/** Time signed (48 bits, seconds) and fudge. */
function timeFields(f: { timeSigned: number; fudge: number }): Buffer {
  const b = Buffer.alloc(8);
  b.writeUIntBE(f.timeSigned, 0, 6);
  b.writeUInt16BE(f.fudge, 6);
  return b;
}

function errorOther(f: { error: number; other: Buffer }): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(f.error, 0);
  b.writeUInt16BE(f.other.length, 2);
  return Buffer.concat([b, f.other]);
}

function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = crypto().createHmac('sha256', key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------
// Verifying

/**
 * Checks a message's TSIG in the RFC's order: key and algorithm, MAC, then time. For an
 * answer pass the request's MAC: the server's MAC covers it (RFC 8945 §5.3), which ties the
 * answer to our request. An empty MAC (the server's BADSIG/BADKEY error answers) is UNSIGNED.
 */
export function verifyMessage(
  message: Buffer,
  key: TsigKey,
  opts: { requestMac?: Buffer; now?: number } = {},
): TsigVerdict {
  let tsig: TsigRecord | undefined;
  try {
    tsig = parseTsig(message);
  } catch (e) {
    if (e instanceof DnsFormatError) return { ok: false, reason: 'FORMERR' };
    throw e;
  }
  if (!tsig) return { ok: false, reason: 'UNSIGNED' };
  if (tsig.keyName !== dottedName(key.name) || tsig.algorithm !== HMAC_SHA256)
    return { ok: false, reason: 'BADKEY', tsig };
  if (tsig.mac.length === 0) return { ok: false, reason: 'UNSIGNED', tsig };
  const expected = hmac(key, [
    ...requestMacPrefix(opts.requestMac),
    unsignedMessage(message, tsig),
    tsigVariables(tsig),
  ]);
  if (tsig.mac.length !== MAC_BYTES || !crypto().timingSafeEqual(tsig.mac, expected))
    return { ok: false, reason: 'BADSIG', tsig };
  if (Math.abs((opts.now ?? nowSeconds()) - tsig.timeSigned) > tsig.fudge)
    return { ok: false, reason: 'BADTIME', tsig };
  return { ok: true, tsig };
}

function requestMacPrefix(mac: Buffer | undefined): Buffer[] {
  if (!mac) return [];
  const len = Buffer.alloc(2);
  len.writeUInt16BE(mac.length);
  return [len, mac];
}

/** The message as it was before signing: no TSIG record, ARCOUNT one less, the original id. */
function unsignedMessage(message: Buffer, tsig: TsigRecord): Buffer {
  const m = Buffer.from(message.subarray(0, tsig.offset));
  m.writeUInt16BE(tsig.originalId, 0);
  m.writeUInt16BE(m.readUInt16BE(ARCOUNT_AT) - 1, ARCOUNT_AT);
  return m;
}

/**
 * The TSIG record, which must be the last of the additional section; undefined when the
 * message has none. Throws DnsFormatError on a message that does not parse.
 */
export function parseTsig(message: Buffer): TsigRecord | undefined {
  const r = new WireReader(message);
  const [qd, an, ns, ar] = [4, 6, 8, 10].map((at) => r.u16At(at)) as [number, number, number, number];
  if (ar === 0) return undefined;
  r.pos = HEADER;
  for (let i = 0; i < qd; i++) r.skip(r.nameEnd(r.pos) - r.pos + 4);
  for (let i = 0; i < an + ns + ar - 1; i++) skipRecord(r);
  const offset = r.pos;
  const keyName = r.name();
  const type = r.u16();
  r.skip(6); // class and TTL: fixed for TSIG, and not ours to judge
  const end = r.u16() + r.pos;
  if (type !== TYPE_TSIG) return undefined;
  const tsig = readTsigRdata(r, keyName, offset);
  if (r.pos !== end || end !== message.length) throw new DnsFormatError('TSIG record length does not match its data');
  return tsig;
}

function readTsigRdata(r: WireReader, keyName: string, offset: number): TsigRecord {
  const algorithm = r.name();
  const timeSigned = r.u48();
  const fudge = r.u16();
  const mac = r.bytes(r.u16());
  const originalId = r.u16();
  const error = r.u16();
  const other = r.bytes(r.u16());
  return { keyName, algorithm, timeSigned, fudge, mac, originalId, error, other, offset };
}

function skipRecord(r: WireReader): void {
  r.pos = r.nameEnd(r.pos);
  r.skip(8);
  r.skip(r.u16());
}

/** Bounds-checked reads; any overrun is a DnsFormatError, never a RangeError from Buffer. */
class WireReader {
  pos = 0;
  constructor(private readonly b: Buffer) {}

  u16At(at: number): number {
    this.need(at, 2);
    return this.b.readUInt16BE(at);
  }

  u16(): number {
    const v = this.u16At(this.pos);
    this.pos += 2;
    return v;
  }

  u48(): number {
    this.need(this.pos, 6);
    const v = this.b.readUIntBE(this.pos, 6);
    this.pos += 6;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(this.pos, n);
    const v = Buffer.from(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return v;
  }

  skip(n: number): void {
    this.need(this.pos, n);
    this.pos += n;
  }

  /** Where the name at `at` ends in the message (a compression pointer ends it). */
  nameEnd(at: number): number {
    for (let p = at; ; ) {
      this.need(p, 1);
      const len = this.b[p]!;
      if (len === 0) return p + 1;
      if (len >= 0xc0) return p + 2;
      if (len > 63) throw new DnsFormatError(`bad label length ${len}`);
      p += 1 + len;
    }
  }

  /** Reads a name (following compression pointers) in TsigRecord's dotted lower-case form. */
  name(): string {
    const labels: string[] = [];
    let p = this.pos;
    for (let hops = 0; ; ) {
      this.need(p, 1);
      const len = this.b[p]!;
      if (len >= 0xc0) {
        if (++hops > 16) throw new DnsFormatError('compression pointer loop');
        p = this.u16At(p) & 0x3fff;
      } else if (len > 63) {
        throw new DnsFormatError(`bad label length ${len}`);
      } else if (len === 0) {
        break;
      } else {
        this.need(p + 1, len);
        labels.push(this.b.toString('latin1', p + 1, p + 1 + len).toLowerCase());
        p += 1 + len;
      }
    }
    this.pos = this.nameEnd(this.pos);
    return `${labels.join('.')}.`;
  }

  private need(at: number, n: number): void {
    if (at < 0 || at + n > this.b.length) throw new DnsFormatError('DNS message ends early');
  }
}
