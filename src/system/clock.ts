/**
 * The clock and boot identity a confirmed apply's deadline lives on (docs/apply.md): wall time
 * jumps (NTP steps it at boot, an admin sets it), CLOCK_BOOTTIME does not and keeps counting
 * through a suspend; it restarts at 0 on a reboot, which the boot id tells apart.
 */
import { readFileSync } from 'node:fs';
import { libc } from './libc.js';

const CLOCK_BOOTTIME = 7;
const clockGettime = libc.func('int clock_gettime(int, _Out_ void *)');

/** Milliseconds on CLOCK_BOOTTIME. */
export function bootClockMs(): number {
  const ts = Buffer.alloc(16); // struct timespec on 64-bit Linux: tv_sec, tv_nsec
  if (clockGettime(CLOCK_BOOTTIME, ts) !== 0) throw new Error('clock_gettime(CLOCK_BOOTTIME) failed');
  return Number(ts.readBigInt64LE(0)) * 1000 + Number(ts.readBigInt64LE(8)) / 1e6;
}

/** The kernel's random id of this boot. */
export function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}
