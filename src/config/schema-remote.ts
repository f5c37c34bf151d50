/**
 * The remote-administration sections: `announce` (tell DNS where an uplink can be reached) and
 * `notify` (tell someone what happened). Credentials are never written here: `*_secret` keys
 * name an entry of the secrets file (config/secrets.ts).
 */
import { z } from 'zod';
import { positiveDuration } from './duration.js';
import { hinted } from './errors.js';
import { checkIp } from './net.js';
import { checked, command, email, evenAfterChildErrors, httpUrl } from './types.js';

const secretName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, {
    error: (iss) =>
      hinted(
        `${JSON.stringify(iss.input)} is not a secret name`,
        'the name of an entry in the secrets file, e.g. dyndns_office',
      ),
  })
  .describe('The name of an entry in the secrets file (never the secret itself).');

const dnsName = z
  .string()
  .regex(
    /^(?=.{1,253}\.?$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?$/,
    {
      error: (iss) => hinted(`${JSON.stringify(iss.input)} is not a DNS name`, 'e.g. office.example.net'),
    },
  );

const retrySchema = z
  .strictObject({
    backoff: positiveDuration
      .default(60_000)
      .describe('First wait after a failure that may succeed later (911, dnserr, timeout).'),
    max_backoff: positiveDuration.default(1_800_000).describe('The wait doubles up to this.'),
  })
  .describe('Retrying an update that failed for a reason that may pass.');

export const announceSchema = z
  .strictObject({
    uplink: z
      .string()
      .describe('The uplink whose address is announced (the update leaves through it, from that address).'),
    dyndns: z
      .strictObject({
        url: httpUrl.describe(
          'dyndns2 update URL; {address} and {hostname} are filled in, e.g. https://dyn.example.net/nic/update?hostname={hostname}&myip={address}',
        ),
        hostname: dnsName.optional().describe('Fills {hostname}.'),
        username: z.string().min(1).optional().describe('HTTP Basic user.'),
        password_secret: secretName.optional(),
      })
      .refine((d) => (d.username === undefined) === (d.password_secret === undefined), {
        error: hinted('username and password_secret go together', 'give both (HTTP Basic), or neither'),
      })
      .optional()
      .describe(
        'dyndns2 over HTTP: only good and nochg are success; badauth, nohost, notfqdn, abuse disable the updater until the config changes.',
      ),
    rfc2136: z
      .strictObject({
        server: checked((s) => checkIp(s)).describe('IP address of the primary DNS server.'),
        port: z.int().min(1).max(65535).default(53).describe('Its port.'),
        zone: dnsName.describe('The zone updated.'),
        name: dnsName.describe('The name set to the address (A or AAAA).'),
        ttl: z.int().min(0).max(86400).default(60).describe('TTL of the record, in seconds.'),
        key: z
          .strictObject({
            name: dnsName.describe('TSIG key name, as the server knows it.'),
            algorithm: z.literal('hmac-sha256').default('hmac-sha256').describe('TSIG algorithm (hmac-sha256).'),
            secret_secret: secretName.describe('Secrets-file entry holding the base64 key.'),
          })
          .describe('The TSIG key the update is signed with.'),
      })
      .optional()
      .describe('RFC 2136 DNS UPDATE signed with TSIG (HMAC-SHA256).'),
    command: command
      .optional()
      .describe('Run with UPLINK, IFACE, ADDRESS and PREV_ADDRESS in its environment; exit 0 is success.'),
    retry: retrySchema.prefault({}),
  })
  .refine((a) => a.dyndns !== undefined || a.rfc2136 !== undefined || a.command !== undefined, {
    error: hinted(
      'announce needs dyndns, rfc2136 or command',
      'add dyndns: { url: ... }, rfc2136: { ... } or command: ...',
    ),
    ...evenAfterChildErrors,
  })
  .describe("Announce an uplink's address when it changes (docs/announce.md).");

/** What a notification can be about (docs/notify.md); `*` is all of them. */
export const NOTIFY_EVENTS = [
  'redial',
  'gave_up',
  'blocked',
  'failover',
  'failback',
  'job_failed',
  'rollback',
  'announce_failed',
] as const;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];

export const notifySchema = z
  .strictObject({
    events: z
      .array(z.enum([...NOTIFY_EVENTS, '*']))
      .min(1)
      .describe(
        `Events that trigger it: ${NOTIFY_EVENTS.join(', ')}, or * for all (blocked is gave_up under its old name).`,
      ),
    mail: z
      .strictObject({
        to: email.describe('Recipient.'),
        from: email.optional().describe('Sender (default: uplinkd@ the host name).'),
        smtp: z
          .strictObject({
            host: z.string().min(1).describe('SMTP server.'),
            port: z.int().min(1).max(65535).default(25).describe('Its port.'),
            tls: z
              .enum(['starttls', 'implicit', 'none'])
              .default('starttls')
              .describe('starttls (when offered), implicit (port 465), none.'),
            username: z.string().min(1).optional().describe('SMTP AUTH user (with password_secret).'),
            password_secret: secretName.optional(),
          })
          .optional()
          .describe('Send through this server (default: the local sendmail).'),
      })
      .optional()
      .describe('Send a mail.'),
    webhook: z
      .strictObject({
        url: httpUrl.describe('URL that receives a JSON POST.'),
        token_secret: secretName.optional().describe('Sent as Authorization: Bearer.'),
      })
      .optional()
      .describe('POST the notification as JSON.'),
    command: command.optional().describe('Run with NOTIFY_EVENT, UPLINK, SUBJECT and MESSAGE in its environment.'),
    limit: z
      .strictObject({
        burst: z
          .int()
          .min(1)
          .max(1000)
          .default(3)
          .describe('Notifications sent at once; more in one window go into a digest.'),
        window: positiveDuration.default(600_000).describe('The rate window; its digest goes out when it ends.'),
      })
      .prefault({})
      .describe('Rate limit per channel: 100 flaps a minute send a handful of mails.'),
  })
  .refine((n) => n.mail !== undefined || n.webhook !== undefined || n.command !== undefined, {
    error: hinted(
      'notify needs mail, webhook or command',
      'add one of mail: { to: ... }, webhook: { url: ... }, command: ...',
    ),
    ...evenAfterChildErrors,
  })
  .describe('Tell someone about events (docs/notify.md).');
