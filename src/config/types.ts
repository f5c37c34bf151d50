/**
 * Small zod building blocks shared by the schema files: checked strings with hinted
 * messages, names, ports, paths.
 */
import { z } from 'zod';
import { hinted } from './errors.js';
import { checkCidr, checkIfname, checkIp, checkListen, checkUrl } from './net.js';

const q = (s: unknown): string => JSON.stringify(s);

/**
 * Refinement params for object-level checks: run them even when a child failed (so every
 * problem is reported at once), but only when the value is a map at all.
 * Such checks must read their argument defensively (a failed child may hold anything).
 */
export const evenAfterChildErrors = {
  when: (payload: { value: unknown }): boolean =>
    typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
};

/** A string validated by `check`, which returns a hinted message when the string is bad. */
export function checked(check: (s: string) => string | undefined) {
  return z.string().superRefine((s, ctx) => {
    const message = check(s);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message, input: s });
  });
}

export const ipAddress = checked((s) => checkIp(s));
export const ipv4Address = checked((s) => checkIp(s, 4));
export const ipv6Address = checked((s) => checkIp(s, 6));
export const cidr = checked(checkCidr);
export const ifname = checked(checkIfname).meta({ minLength: 1, maxLength: 15, pattern: '^[^/:\\s]+$' });
export const httpUrl = checked((s) => checkUrl(s));
export const listenAddress = checked(checkListen);

/** Names of uplinks and jobs: they show up in nftables sets, file names and CLI arguments. */
export const NAME_RE = /^[a-z][a-z0-9_-]{0,30}$/;
export function nameType(what: string) {
  return z.string().regex(NAME_RE, {
    error: (iss) =>
      hinted(
        `${q(iss.input)} is not a valid ${what} name`,
        'names start with a lowercase letter and use only a-z, 0-9, _ and -, at most 31 characters',
      ),
  });
}
export const uplinkName = nameType('uplink');
export const jobName = nameType('job');

/** A shell command line (run with /bin/sh -c). */
export const command = z
  .string()
  .trim()
  .min(1, { error: hinted('the command is empty', 'write the command line to run') });

/** An absolute file system path. */
export function absolutePath(maxBytes?: number) {
  return checked((s) => {
    if (!s.startsWith('/')) {
      return hinted(
        `${q(s)} is not an absolute path`,
        "write a path starting with /; relative paths would depend on the daemon's working directory",
      );
    }
    if (maxBytes !== undefined && Buffer.byteLength(s) > maxBytes) {
      return hinted(`${q(s)} is too long`, `a unix socket path has at most ${maxBytes} bytes`);
    }
    return undefined;
  });
}

export const port = z.int().min(1).max(65535);

/** An email address (plain `user@host`). */
export const email = z.string().regex(/^[^@\s<>]+@[^@\s<>]+$/, {
  error: (iss) => hinted(`${q(iss.input)} is not an email address`, 'write it like admin@example.org'),
});

/** An IANA time zone known to this Node.js (ICU). */
export const timeZone = checked((s) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: s });
    return undefined;
  } catch {
    return hinted(`${q(s)} is not a known time zone`, 'use an IANA name like Europe/Berlin, America/New_York or UTC');
  }
});
