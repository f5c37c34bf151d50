/**
 * Which daemon events are worth telling someone about, and what to tell them: which uplink,
 * what happened, since when, and what uplinkd does next (pure; the notifier sends them).
 */
import type { NotifyEventName } from '../config/schema-remote.js';
import type { DaemonEvent } from '../events/bus.js';

export interface Notice {
  event: NotifyEventName;
  uplink?: string;
  subject: string;
  /** Plain-text body, one fact per line. */
  text: string;
  /** Notices with the same key within a window are one notice (de-duplicated, counted). */
  key: string;
  time: string;
}

export interface NoticeContext {
  host: string;
  uplink(name: string): { iface: string; mode: string; state: string; since: string; priority: number } | undefined;
  usable(name: string): boolean;
  /** The uplink carrying traffic now. */
  selected(): string | undefined;
}

const traffic = (c: NoticeContext) => {
  const s = c.selected();
  return s ? `traffic goes through ${s}` : 'NO uplink is usable: the gateway is offline';
};

function notice(
  c: NoticeContext,
  e: DaemonEvent,
  n: Omit<Notice, 'time' | 'subject' | 'text'> & { what: string; facts: string[] },
): Notice {
  return {
    event: n.event,
    ...(n.uplink ? { uplink: n.uplink } : {}),
    key: n.key,
    time: e.time,
    subject: `[uplinkd ${c.host}] ${n.what}`,
    text: [`${n.what}.`, '', ...n.facts, '', `Host: ${c.host}`, `Event time: ${e.time}`].join('\n'),
  };
}

function uplinkLine(c: NoticeContext, name: string): string {
  const u = c.uplink(name);
  return u ? `Uplink: ${name} (interface ${u.iface}, mode ${u.mode}), ${u.state} since ${u.since}` : `Uplink: ${name}`;
}

export function noticeFor(e: DaemonEvent, c: NoticeContext): Notice | undefined {
  switch (e.type) {
    case 'uplink':
      if (e.event === 'dial' && e.redial)
        return notice(c, e, {
          event: 'redial',
          uplink: e.name,
          key: `redial ${e.name}`,
          what: `${e.name} lost its connection; re-dialing (attempt ${e.redial.attempt})`,
          facts: [
            `What happened: ${e.redial.lost}`,
            `Since: ${e.redial.at}`,
            uplinkLine(c, e.name),
            `What uplinkd does next: dialing ${e.name} again now (attempt ${e.redial.attempt}); meanwhile ${traffic(c)}.`,
          ],
        });
      if (e.event === 'blocked')
        return notice(c, e, {
          event: 'gave_up',
          uplink: e.name,
          key: `gave_up ${e.name}`,
          what: `${e.name} gave up`,
          facts: [
            `What happened: ${e.reason}`,
            `Since: ${e.time}`,
            uplinkLine(c, e.name),
            `What uplinkd does next: no more dials of ${e.name} until \`uplink unblock ${e.name}\` or \`uplink up ${e.name}\`; ${traffic(c)}.`,
          ],
        });
      return undefined;
    case 'selection':
      return selectionNotice(e, c);
    case 'job':
      if (e.event !== 'failed') return undefined;
      return notice(c, e, {
        event: 'job_failed',
        key: `job_failed ${e.name}`,
        what: `job ${e.name} failed`,
        facts: [
          `What happened: ${e.message}`,
          `Since: ${e.time}`,
          'What uplinkd does next: see `uplink status` (JOBS) and the job log.',
        ],
      });
    case 'apply':
      if (e.action !== 'rollback') return undefined;
      return notice(c, e, {
        event: 'rollback',
        key: 'rollback',
        what: `config rolled back (${e.file})`,
        facts: [
          `What happened: ${e.message}`,
          `Since: ${e.time}`,
          'What uplinkd does next: runs the last-good config; the config file was not changed.',
        ],
      });
    case 'announce':
      if (e.ok) return undefined;
      return notice(c, e, {
        event: 'announce_failed',
        uplink: e.uplink,
        key: `announce_failed ${e.uplink} ${e.updater} ${e.result}`,
        what: `announcing ${e.uplink}'s address ${e.address} by ${e.updater} failed (${e.result})`,
        facts: [
          `What happened: ${e.message}`,
          `Since: ${e.time}`,
          uplinkLine(c, e.uplink),
          `What uplinkd does next: ${e.disabled ? 'this updater is disabled until the config changes (fix it, then `uplink reload`)' : 'retries with backoff'}.`,
        ],
      });
    default:
      return undefined;
  }
}

/** Failover: the uplink that carried traffic is no longer usable. Failback: a better one is back. */
function selectionNotice(e: Extract<DaemonEvent, { type: 'selection' }>, c: NoticeContext): Notice | undefined {
  const { prev, selected } = e;
  if (!prev || prev === selected) return undefined;
  const from = c.uplink(prev);
  const to = selected ? c.uplink(selected) : undefined;
  if (!c.usable(prev))
    return notice(c, e, {
      event: 'failover',
      uplink: prev,
      key: `failover ${prev}`,
      what: selected ? `failover from ${prev} to ${selected}` : `${prev} failed and no other uplink is usable`,
      facts: [
        `What happened: ${prev} is ${from?.state ?? 'gone'} (${e.reason})`,
        `Since: ${from?.since ?? e.time}`,
        uplinkLine(c, prev),
        `What uplinkd does next: ${traffic(c)}; it keeps probing ${prev} and fails back when it is good again.`,
      ],
    });
  if (to && from && to.priority < from.priority)
    return notice(c, e, {
      event: 'failback',
      uplink: selected,
      key: `failback ${selected}`,
      what: `failback from ${prev} to ${selected}`,
      facts: [
        `What happened: ${e.reason}`,
        `Since: ${e.time}`,
        uplinkLine(c, selected!),
        `What uplinkd does next: ${traffic(c)}; ${prev} stays ready as backup.`,
      ],
    });
  return undefined;
}

/** Does a notify entry's `events` list take this notice? `blocked` is gave_up's older name. */
export function wants(events: readonly string[], n: Notice): boolean {
  return events.includes('*') || events.includes(n.event) || (n.event === 'gave_up' && events.includes('blocked'));
}
