/** The real System: rtnetlink for watching, `ip -batch` for changes, /proc/sys for sysctls. */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { UplinkError } from '../errors.js';
import { LinuxKernelWatch } from './kernel-watch.js';
import { batchLine, displayCommand, opFamily, type KernelOp } from './ops.js';
import { flushSnatFlows } from './conntrack/index.js';
import { nftApply, nftListChains, nftListTable, nftListText } from './nft.js';
import { Prober } from './probe/prober.js';
import type { System } from './system.js';
import type { RouteFilter } from './types.js';

const run = promisify(execFile);

/** Keys are written with slashes (net/ipv4/conf/eth0.100/...) so interface names may hold dots. */
export const sysctlPath = (key: string) => `/proc/sys/${key}`;

async function runBatch(family: 4 | 6, lines: string[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'uplinkd-'));
  const file = join(dir, 'batch');
  try {
    await writeFile(file, lines.join('\n') + '\n');
    // -force: one refused line must not keep the lines after it from ever being applied.
    await run('ip', [`-${family}`, '-force', '-batch', file]);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new UplinkError('SYSTEM', `ip -batch failed: ${(err.stderr || err.message).trim()}`, 'the next reconcile retries what is still missing');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class LinuxSystem implements System {
  readonly kind: 'linux' | 'dry-run' = 'linux';
  constructor(protected readonly log: Logger) {}

  kernelWatch(filter: RouteFilter, rcvbuf?: number, carrierPollMs?: number) {
    return new LinuxKernelWatch(filter, this.log.child({ component: 'netlink' }), rcvbuf, carrierPollMs);
  }

  prober() {
    return new Prober(this.log.child({ component: 'probe' }));
  }

  async apply(ops: KernelOp[]): Promise<void> {
    for (const family of [4, 6] as const) {
      const lines = ops.filter((o) => opFamily(o) === family).map(batchLine);
      if (lines.length) await runBatch(family, lines);
    }
  }

  nft(batch: unknown, check = false): Promise<void> {
    return nftApply(batch, check);
  }

  nftList(table: string) {
    return nftListTable(table);
  }

  nftChains() {
    return nftListChains();
  }

  async nftSnapshot(table: string, file: string): Promise<void> {
    const text = await nftListText(table);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
  }

  conntrackFlush(snatAddrs: string[]) {
    return flushSnatFlows(snatAddrs);
  }

  async sysctl(key: string, value: string): Promise<boolean> {
    const path = sysctlPath(key);
    const cur = (await readFile(path, 'utf8').catch(() => undefined))?.trim();
    if (cur === undefined || cur === value) return false;
    await writeFile(path, value);
    return true;
  }
}

/** --dry-run: watches the real kernel and probes for real (read-only), but only logs the changes it would make. */
export class DryRunSystem extends LinuxSystem {
  override readonly kind = 'dry-run';

  override async apply(ops: KernelOp[]): Promise<void> {
    for (const o of ops) this.log.info({ command: displayCommand(o) }, 'dry-run: would run');
  }

  override async sysctl(key: string, value: string): Promise<boolean> {
    this.log.info({ command: `sysctl -w ${key}=${value}` }, 'dry-run: would run');
    return false;
  }

  override async conntrackFlush(snatAddrs: string[]) {
    this.log.info({ snatAddrs }, 'dry-run: would delete the conntrack entries pinned by SNAT to these addresses');
    return { examined: 0, deleted: 0, vanished: 0 };
  }

  override async nftSnapshot(): Promise<void> {
    // Nothing was applied, so there is nothing to snapshot.
  }

  /** Validates with `nft -c` and prints the JSON it would apply. */
  override async nft(batch: unknown, check = false): Promise<void> {
    await nftApply(batch, true);
    if (!check) this.log.info({ nft: batch }, 'dry-run: would apply this nftables batch (nft -j -f)');
  }
}
