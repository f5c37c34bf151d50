/**
 * Router solicitations: an uplink that learns IPv6 from router advertisements and has seen
 * none within SOLICIT_AFTER_MS of its link being there asks for one, then less and less often.
 * The kernel sends its own only when a link comes up, and none once accept_ra was changed.
 */
import type { Logger } from 'pino';
import type { System } from '../system/system.js';
import type { WorldState } from '../world/state.js';
import { hasIpv6Default, staticGateway6 } from './facts.js';
import type { Uplink } from './uplink.js';

export const SOLICIT_AFTER_MS = 10_000;
const SOLICIT_MAX_MS = 300_000;

export function solicitRouters(u: Uplink, w: WorldState, now: number, system: System, log: Logger): void {
  const waiting = !staticGateway6(u.cfg) && u.facts.carrier && !hasIpv6Default(w, u.facts.index);
  if (!waiting) {
    u.solicit = undefined;
    return;
  }
  u.solicit ??= { sent: 0, nextAt: now + SOLICIT_AFTER_MS };
  if (now < u.solicit.nextAt) return;
  const s = u.solicit;
  s.sent++;
  s.nextAt = now + Math.min(SOLICIT_AFTER_MS * 2 ** s.sent, SOLICIT_MAX_MS);
  const mac = [...w.links.values()].find((l) => l.index === u.facts.index)?.mac;
  // An ISP without IPv6 never answers: say it a few times, then only at debug level.
  const level = s.sent <= 3 ? 'info' : 'debug';
  log[level]({ uplink: u.name, sent: s.sent }, `${u.name}: no router advertisement seen; soliciting one`);
  system
    .routerSolicit(u.cfg.interface, mac)
    .catch((e) => log.warn({ uplink: u.name, err: e }, 'router solicitation failed'));
}
