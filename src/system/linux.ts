/** The real System: rtnetlink for watching, `ip -batch` for changes. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { UplinkError } from '../errors.js';
import { LinuxKernelWatch } from './kernel-watch.js';
import { routeCommand, type KernelOp } from './ops.js';
import type { System } from './system.js';
import type { RouteFilter } from './types.js';

const run = promisify(execFile);

export class LinuxSystem implements System {
  readonly kind = 'linux';
  constructor(private readonly log: Logger) {}

  kernelWatch(filter: RouteFilter, rcvbuf?: number) {
    return new LinuxKernelWatch(filter, this.log.child({ component: 'netlink' }), rcvbuf);
  }

  async apply(ops: KernelOp[]): Promise<void> {
    if (!ops.length) return;
    const dir = await mkdtemp(join(tmpdir(), 'uplinkd-'));
    const file = join(dir, 'batch');
    try {
      await writeFile(file, ops.map(routeCommand).join('\n') + '\n');
      await run('ip', ['-batch', file]);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new UplinkError('SYSTEM', `ip -batch failed: ${(err.stderr || err.message).trim()}`, 'the next reconcile retries what is still missing');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** --dry-run: watches the real kernel (read-only) and only logs the commands it would run. */
export class DryRunSystem implements System {
  readonly kind = 'dry-run';
  constructor(private readonly log: Logger) {}

  kernelWatch(filter: RouteFilter, rcvbuf?: number) {
    return new LinuxKernelWatch(filter, this.log.child({ component: 'netlink' }), rcvbuf);
  }

  async apply(ops: KernelOp[]): Promise<void> {
    for (const o of ops) this.log.info({ command: `ip ${routeCommand(o)}` }, 'dry-run: would run');
  }
}
