/**
 * The dyndns2 protocol's answers (pure). Only `good` and `nochg` are success. Answers that say
 * the request itself is wrong (bad credentials, unknown host, abuse) stop the updater until the
 * config changes: resending them gets the account blocked. `911` and `dnserr` are the
 * provider's trouble: retry later, with backoff.
 */
export type Dyndns2Verdict =
  | { kind: 'ok'; result: 'good' | 'nochg' }
  | { kind: 'fatal'; result: string; why: string }
  | { kind: 'retry'; result: string; why: string; minWaitMs?: number };

/** dyndns2 providers ask clients to wait at least 30 minutes after a 911 or dnserr. */
export const PROVIDER_TROUBLE_WAIT_MS = 30 * 60_000;

const FATAL: Record<string, string> = {
  badauth: 'the user name or password was refused',
  nohost: 'the host name does not exist in this account',
  notfqdn: 'the host name is not a fully qualified domain name',
  abuse: 'the provider blocked the host for abuse',
  '!donator': 'the request uses a feature the account does not have',
  badagent: 'the provider refused the client',
  numhost: 'too many or too few hosts in the request',
  '!yours': 'the host name belongs to another account',
};

const RETRY: Record<string, string> = {
  '911': 'the provider has a problem (911); retrying in 30 minutes or more',
  dnserr: 'the provider had a DNS error; retrying in 30 minutes or more',
};

/** Classifies one HTTP answer (status and body) of a dyndns2 update. */
export function dyndns2Verdict(status: number, body: string): Dyndns2Verdict {
  const word = body.trim().split(/\s+/)[0] ?? '';
  if (status >= 200 && status < 300 && (word === 'good' || word === 'nochg')) return { kind: 'ok', result: word };
  if (FATAL[word]) return { kind: 'fatal', result: word, why: FATAL[word] };
  if (RETRY[word]) return { kind: 'retry', result: word, why: RETRY[word], minWaitMs: PROVIDER_TROUBLE_WAIT_MS };
  if (status === 401 || status === 403)
    return { kind: 'fatal', result: 'badauth', why: `HTTP ${status}: the credentials were refused` };
  if (status === 404) return { kind: 'fatal', result: `HTTP ${status}`, why: 'the update URL does not exist' };
  const shown = word ? ` (${word.slice(0, 40)})` : '';
  return {
    kind: 'retry',
    result: status >= 200 && status < 300 ? 'unknown' : `HTTP ${status}`,
    why: `unexpected answer${shown}; retrying later`,
  };
}

/** The update URL with {address} and {hostname} filled in (URL-encoded). */
export function dyndnsUrl(template: string, address: string, hostname?: string): string {
  return template
    .replaceAll('{address}', encodeURIComponent(address))
    .replaceAll('{hostname}', encodeURIComponent(hostname ?? ''));
}
