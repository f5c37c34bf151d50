/**
 * nftables through `nft -j -f FILE`. A temp file, not stdin: `nft -f -` fails
 * with ENXIO when stdin is a Node child-process pipe (docs/platform-notes.md).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UplinkError } from '../errors.js';

const run = promisify(execFile);

/** Applies (or with `check`, only validates) a JSON batch (data, or its JSON text); nft applies a batch whole or not at all. */
export async function nftApply(batch: unknown, check = false): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'uplinkd-nft-'));
  const file = join(dir, 'ruleset.json');
  try {
    await writeFile(file, typeof batch === 'string' ? batch : JSON.stringify(batch));
    await run('nft', [...(check ? ['-c'] : []), '-j', '-f', file], { maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as { stderr?: string; message: string; code?: string };
    if (err.code === 'ENOENT') throw new UplinkError('SYSTEM', 'nft is not installed', 'install the nftables package');
    throw new UplinkError(
      'NFT_REJECTED',
      `nft rejected the ruleset: ${(err.stderr || err.message).trim()}`,
      'the running ruleset was left as it was',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface NftChain {
  family: string;
  table: string;
  name: string;
  hook?: string;
  policy?: string;
  prio?: number;
}

/** Our table in nft's own syntax, for `include` in /etc/nftables.conf. */
export async function nftListText(name: string): Promise<string> {
  return (await run('nft', ['list', 'table', 'inet', name], { maxBuffer: 64 << 20 })).stdout;
}

/** Every chain of every table (`nft -j list chains`). */
export async function nftListChains(): Promise<NftChain[]> {
  const { stdout } = await run('nft', ['-j', 'list', 'chains'], { maxBuffer: 64 << 20 });
  return (JSON.parse(stdout) as { nftables: { chain?: NftChain }[] }).nftables.flatMap((e) =>
    e.chain ? [e.chain] : [],
  );
}

/** `nft -j list table inet NAME`, or undefined when the table does not exist. */
type Listing = { nftables: Record<string, unknown>[] };

export async function nftListTable(name: string, terse?: { full: string[] }): Promise<Listing | undefined> {
  try {
    const args = ['-j', ...(terse ? ['-t'] : []), 'list', 'table', 'inet', name];
    const listing = JSON.parse((await run('nft', args, { maxBuffer: 64 << 20 })).stdout) as Listing;
    for (const set of terse?.full ?? []) {
      const { stdout } = await run('nft', ['-j', 'list', 'set', 'inet', name, set]);
      const full = (JSON.parse(stdout) as Listing).nftables.find((e) => 'set' in e);
      const i = listing.nftables.findIndex((e) => (e.set as { name?: string } | undefined)?.name === set);
      if (full && i >= 0) listing.nftables[i] = full;
    }
    return listing;
  } catch {
    return undefined;
  }
}

import type { NftSetElement } from '../model/nft.js';

/**
 * nft prints an `inet_proto` by the name /etc/protocols gives it, or as a number where that
 * file is missing (a minimal system without netbase). The protocols nft knows without the
 * file are shown by name either way, so a key reads the same on every machine (and the name
 * goes back into a set without the file too).
 */
const BUILTIN_PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };

function keyText(v: unknown, types: readonly string[] = []): string {
  if (typeof v === 'object' && v !== null && 'concat' in v) {
    return (v as { concat: unknown[] }).concat.map((x, i) => keyText(x, [types[i] ?? ''])).join(' . ');
  }
  return types[0] === 'inet_proto' && typeof v === 'number' ? (BUILTIN_PROTO[v] ?? String(v)) : String(v);
}

/** Parses `nft -j list set …` output into elements (pure; nft gives timeouts and expiry in seconds). */
export function parseSetElements(listing: unknown): NftSetElement[] {
  const items = (listing as { nftables?: { set?: { elem?: unknown[]; type?: string | string[] } }[] })?.nftables ?? [];
  const set = items.find((i) => i.set)?.set;
  const types = set?.type === undefined ? [] : [set.type].flat();
  return (set?.elem ?? []).map((e) => {
    const inner = (e as { elem?: { val: unknown; expires?: number } }).elem;
    if (!inner) return { key: keyText(e, types) };
    return {
      key: keyText(inner.val, types),
      ...(inner.expires !== undefined ? { expiresMs: Math.round(inner.expires * 1000) } : {}),
    };
  });
}

/**
 * The elements of a set in `table inet TABLE`; undefined when it cannot be read (no such
 * set, nft failed): a caller must not read that as "empty" (a busy link is not idle).
 */
export async function nftListSet(table: string, set: string): Promise<NftSetElement[] | undefined> {
  try {
    const { stdout } = await run('nft', ['-j', 'list', 'set', 'inet', table, set], { maxBuffer: 64 << 20 });
    return parseSetElements(JSON.parse(stdout));
  } catch {
    return undefined;
  }
}
