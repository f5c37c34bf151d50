/**
 * Single-instance lock: flock(2) on `<socket>.lock`. The kernel drops a flock
 * when its holder dies, so a `kill -9` never leaves a lock that blocks a restart
 * (a pid file would). The file itself is never deleted: unlinking lock files races.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { UplinkError } from '../errors.js';
import { libc } from './libc.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const flock = libc.func('int flock(int, int)');

export class InstanceLock {
  private fd?: number;

  constructor(readonly path: string) {}

  acquire(): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    const fd = openSync(this.path, 'a+', 0o600);
    if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      closeSync(fd);
      const holder = readFileSync(this.path, 'utf8').trim() || 'unknown';
      throw new UplinkError(
        'ALREADY_RUNNING',
        `another uplinkd (pid ${holder}) holds ${this.path}`,
        'stop it with `uplink quit`, or give this one its own control.socket',
      );
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    this.fd = fd;
  }

  release(): void {
    if (this.fd === undefined) return;
    flock(this.fd, LOCK_UN);
    closeSync(this.fd);
    this.fd = undefined;
  }
}
