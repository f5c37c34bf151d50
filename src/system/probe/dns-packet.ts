/**
 * Minimal DNS wire format for reachability probes (RFC 1035): one question out, the
 * header of the answer back. Pure: no sockets here.
 */

export const DNS_TYPE_A = 1;
export const DNS_TYPE_NS = 2;
export const DNS_CLASS_IN = 1;
const HEADER = 12;

export class DnsNameError extends Error {}

/** Encodes a domain name as length-prefixed labels; "." (or "") is the root. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of trimmed.split('.')) {
    const b = Buffer.from(label, 'ascii');
    if (b.length === 0) throw new DnsNameError(`empty label in DNS name "${name}"`);
    if (b.length > 63) throw new DnsNameError(`label longer than 63 bytes in DNS name "${name}"`);
    if (!/^[\x21-\x7e]+$/.test(label))
      throw new DnsNameError(`DNS name "${name}" has characters other than printable ASCII`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new DnsNameError(`DNS name "${name}" is longer than 255 bytes`);
  return out;
}

/** The probe's default question: NS for the root, A for anything else. */
export const defaultQueryType = (name: string) => (name === '.' || name === '' ? DNS_TYPE_NS : DNS_TYPE_A);

/** A standard query with RD=1 and one question. */
export function buildQuery(id: number, name: string, type = defaultQueryType(name)): Buffer {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new RangeError(`DNS id ${id} out of range`);
  const qname = encodeName(name);
  const b = Buffer.alloc(HEADER + qname.length + 4);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(0x0100, 2); // QR=0, OPCODE=0, RD=1
  b.writeUInt16BE(1, 4); // QDCOUNT
  qname.copy(b, HEADER);
  b.writeUInt16BE(type, HEADER + qname.length);
  b.writeUInt16BE(DNS_CLASS_IN, HEADER + qname.length + 2);
  return b;
}

export interface DnsHeader {
  id: number;
  /** True for a response. */
  qr: boolean;
  opcode: number;
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

/** Parses the 12-byte header; undefined when the packet is too short. */
export function parseHeader(buf: Uint8Array): DnsHeader | undefined {
  if (buf.length < HEADER) return undefined;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const flags = b.readUInt16BE(2);
  return {
    id: b.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    qdcount: b.readUInt16BE(4),
    ancount: b.readUInt16BE(6),
    nscount: b.readUInt16BE(8),
    arcount: b.readUInt16BE(10),
  };
}

/** True when `buf` is a response to the query with this id (any rcode: the server answered). */
export function isResponseTo(buf: Uint8Array, id: number): boolean {
  const h = parseHeader(buf);
  return h?.qr === true && h.id === id && h.opcode === 0;
}

/** Makes a minimal response to `query` (for test responders): same id and question, QR=1, RA=1. */
export function buildResponse(query: Uint8Array, rcode = 0): Buffer {
  const b = Buffer.from(query);
  if (b.length < HEADER) throw new RangeError('DNS query shorter than its header');
  const flags = b.readUInt16BE(2);
  b.writeUInt16BE(0x8000 | (flags & 0x7900) | 0x0080 | (rcode & 0xf), 2); // keep OPCODE and RD
  b.writeUInt16BE(0, 6);
  b.writeUInt16BE(0, 8);
  b.writeUInt16BE(0, 10);
  return b;
}
