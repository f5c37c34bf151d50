/**
 * Small builders for libnftables JSON (man libnftables-json, schema version 1), in the
 * shapes `nft -j list` prints on nftables 1.0.6, so what we render reads like a listing.
 * Pure data: nothing here talks to nft.
 */

/** Everything of ours lives in `table inet uplinkd` (firewall and demand both render into it). */
export const TABLE = 'uplinkd';
export const FAMILY = 'inet';

/** One element of a dynamic set: its key as nft prints it, and ms until it expires. */
export interface NftSetElement {
  key: string;
  expiresMs?: number;
}

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Expr = Json;
export type Stmt = { [key: string]: Json };

export type Family = 4 | 6;
export type Proto = 'tcp' | 'udp';

export const meta = (key: string): Expr => ({ meta: { key } });
export const payload = (protocol: string, field: string): Expr => ({ payload: { protocol, field } });
export const ct = (key: string): Expr => ({ ct: { key } });
export const ipProto = (f: Family): 'ip' | 'ip6' => (f === 4 ? 'ip' : 'ip6');

/** `left == right` (a set reference "@name" or an anonymous set matches by lookup). */
export const eq = (left: Expr, right: Expr): Stmt => ({ match: { op: '==', left, right } });
export const ne = (left: Expr, right: Expr): Stmt => ({ match: { op: '!=', left, right } });
/** Bitmask match, `ct state established,related` style. */
export const isIn = (left: Expr, right: Expr): Stmt => ({ match: { op: 'in', left, right } });

export const and = (a: Expr, b: Expr): Expr => ({ '&': [a, b] });
export const or = (a: Expr, b: Expr): Expr => ({ '|': [a, b] });
export const mangle = (key: Expr, value: Expr): Stmt => ({ mangle: { key, value } });

export const accept: Stmt = { accept: null };
export const drop: Stmt = { drop: null };

/** A single value as itself, several as an anonymous set. */
export const oneOrSet = (values: Expr[]): Expr => (values.length === 1 ? values[0]! : { set: values });

/** A port (80) or a port range ({range: [8000, 8100]}). */
export const portExpr = (first: number, last: number): Expr => (first === last ? first : { range: [first, last] });

/** A CIDR as a prefix expression; nft masks host bits itself (198.51.100.7/24 lists as .0/24). */
export function prefix(cidr: string): Expr {
  const [addr, len] = cidr.split('/');
  return { prefix: { addr: addr!, len: Number(len) } };
}

/** The family of an address or CIDR string. */
export const familyOf = (addr: string): Family => (addr.includes(':') ? 6 : 4);

/** `iifname`/`oifname` against a named set (@name), one name or an anonymous set of names. */
export const ifMatch = (key: 'iifname' | 'oifname', names: string | string[]): Stmt =>
  eq(meta(key), typeof names === 'string' ? names : oneOrSet([...names].sort()));

/** A 32-bit hex literal as nft prints it (for comments and docs only; JSON takes numbers). */
export const hex32 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/** nft rejects comments longer than 128 bytes (NFTNL_UDATA_COMMENT_MAXLEN). */
export function comment(text: string): string {
  const b = Buffer.from(text, 'utf8');
  if (b.length <= 127) return text;
  let cut = b.subarray(0, 124).toString('utf8');
  while (Buffer.byteLength(cut) > 124) cut = cut.slice(0, -1);
  return `${cut.replace(/\uFFFD$/, '')}...`;
}

/** The set of a zone's interfaces. */
export const zoneSet = (zone: string): string => `zone_${zone}`;
