/**
 * The operator's doors besides the control socket: the HTTP API (with its metrics and the
 * dashboard's samples) and, under systemd, the notify socket. Built here so the controller
 * only places them in its start order.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { HttpApi } from '../control/http/api.js';
import { Metrics } from '../control/http/metrics.js';
import { SampleRing } from '../control/http/samples.js';
import type { MethodTable } from '../control/rpc.js';
import type { Status } from '../control/status.js';
import type { EventBus } from '../events/bus.js';
import type { System } from '../system/system.js';
import type { UplinkManager } from '../uplinks/manager.js';
import { SystemdNotifier } from './sd-notify.js';

export interface OperatorDeps {
  system: System;
  config: () => Config;
  methods: MethodTable;
  bus: EventBus;
  log: Logger;
  status: () => Status;
  manager: () => UplinkManager;
  redact: (json: string) => string;
}

export function httpApi(d: OperatorDeps): { http: HttpApi; metrics: Metrics } {
  const metrics = new Metrics(d.status);
  const samples = new SampleRing(() =>
    [...d.manager().uplinks.values()].map((u) => {
      const s = u.health.stats.view();
      return {
        name: u.name,
        rttMs: s.avgRttMs,
        jitterMs: s.jitterMs,
        lossPct: s.rounds ? s.lossPct : undefined,
        up: u.state === 'up',
      };
    }),
  );
  const http = new HttpApi({
    system: d.system,
    config: d.config,
    methods: d.methods,
    bus: d.bus,
    log: d.log.child({ component: 'http' }),
    metrics,
    samples,
    redact: d.redact,
  });
  return { http, metrics };
}

/** The one-line STATUS= systemd shows: what carries traffic and how the uplinks are. */
export function systemdStatus(s: Status): string {
  const up = s.uplinks.filter((u) => u.state === 'up').length;
  const sel = s.selection.selected ? `traffic on ${s.selection.selected}` : 'no uplink selected';
  const pending = s.apply ? `; apply pending (${s.apply.secondsLeft}s left)` : '';
  return `${sel}; ${up}/${s.uplinks.length} uplinks up${pending}`;
}

/** Under systemd: READY once the control socket answers (placed last), WATCHDOG, STOPPING. */
export function systemdNotifier(d: OperatorDeps): SystemdNotifier | undefined {
  const under = d.system.systemd();
  if (!under) return undefined;
  return new SystemdNotifier({
    send: (m) => d.system.sdNotify(m),
    ...(under.watchdogMs !== undefined ? { watchdogMs: under.watchdogMs } : {}),
    status: () => systemdStatus(d.status()),
    log: d.log.child({ component: 'systemd' }),
  });
}
