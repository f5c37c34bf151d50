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

/**
 * UPLINKD_SCHEDULE_CLOCK=ISO-TIME starts the schedule's clock at that moment (it then runs at
 * real speed): for trying a schedule (docs/schedule.md) without waiting for 07:30 on a Monday.
 * Only the schedule reads it; logs, events and deadlines keep the real time.
 */
export function scheduleClockOffset(value: string | undefined): number {
  if (!value) return 0;
  const at = Date.parse(value);
  if (Number.isNaN(at))
    throw new Error(`UPLINKD_SCHEDULE_CLOCK=${value} is not a time (write e.g. 2026-12-07T07:29:50+01:00)`);
  return at - Date.now();
}
