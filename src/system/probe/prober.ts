/**
 * Health-probe primitives, OS side: one request, one result, never a rejection.
 * icmp and dns run in the probe worker (koffi sockets: mark, device, bind); tcp and
 * http use Node's sockets on the main thread (bind to the source address only).
 */
import { urandom } from '../random.js';
import type { Logger } from 'pino';
import { buildQuery, DnsNameError } from './dns-packet.js';
import { httpProbe } from './http.js';
import { checkSource, parseEndpoint, parseHttpTarget, parseIcmpTarget } from '../../model/probe-target.js';
import { tcpProbe } from './tcp.js';
import type { IcmpMode, ProbeRequest, ProbeResult } from './types.js';
import { ProbeWorker } from './worker-client.js';

export type { IcmpMode, ProbeMethod, ProbeRequest, ProbeResult } from './types.js';

export interface ProberOptions {
  /** Widen net.ipv4.ping_group_range for our gid when ICMP datagram sockets are refused (default true). */
  widenPingGroupRange?: boolean;
  /** 'raw' forces raw ICMP sockets (default 'auto': datagram sockets when possible). */
  icmp?: 'auto' | 'raw';
}

const DNS_PORT = 53;

export class Prober {
  private worker?: ProbeWorker;
  private stopped = false;
  private abort = new AbortController();

  constructor(
    private readonly log: Logger,
    private readonly opts: ProberOptions = {},
  ) {}

  /** How ICMP probes are sent; 'unknown' before start() (or when neither socket kind is allowed). */
  get icmpMode(): IcmpMode {
    return this.worker?.mode ?? 'unknown';
  }

  /** Starts the probe worker, which decides (and logs once) how ICMP probes are sent. */
  async start(): Promise<void> {
    if (this.stopped) {
      this.stopped = false;
      this.abort = new AbortController();
    }
    await this.ensureWorker().start();
  }

  /** Stops the worker and ends probes in flight ({ok:false,'prober stopped'}); the process can exit afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    const w = this.worker;
    this.worker = undefined;
    await w?.stop();
  }

  async probe(req: ProbeRequest): Promise<ProbeResult> {
    try {
      if (this.stopped) return { ok: false, error: 'prober stopped' };
      if (!Number.isFinite(req.timeoutMs) || req.timeoutMs <= 0)
        return { ok: false, error: `bad probe timeout ${req.timeoutMs}` };
      switch (req.method) {
        case 'icmp':
          return await this.icmp(req);
        case 'tcp':
          return await this.tcp(req);
        case 'http':
          return await this.http(req);
        case 'dns':
          return await this.dns(req);
        default:
          return { ok: false, error: `unknown probe method ${String((req as { method: unknown }).method)}` };
      }
    } catch (e) {
      this.log.error({ err: e, req }, 'probe failed unexpectedly');
      return { ok: false, error: `probe failed: ${(e as Error).message ?? e}` };
    }
  }

  private ensureWorker(): ProbeWorker {
    this.worker ??= new ProbeWorker(this.log, {
      gid: process.getegid?.() ?? 0,
      widen: this.opts.widenPingGroupRange ?? true,
      forceRaw: this.opts.icmp === 'raw',
    });
    return this.worker;
  }

  private async icmp(req: ProbeRequest): Promise<ProbeResult> {
    const t = parseIcmpTarget(req.target);
    if (!t.ok) return { ok: false, error: t.error };
    const bad = checkSource(req.source, t.value.family);
    if (bad) return { ok: false, error: bad };
    return this.ensureWorker().run({
      kind: 'icmp',
      family: t.value.family,
      host: t.value.host,
      port: 0,
      timeoutMs: req.timeoutMs,
      ...extras(req),
    });
  }

  private async dns(req: ProbeRequest): Promise<ProbeResult> {
    const t = parseEndpoint(req.target, DNS_PORT);
    if (!t.ok) return { ok: false, error: t.error };
    const bad = checkSource(req.source, t.value.family);
    if (bad) return { ok: false, error: bad };
    const dnsId = urandom(2).readUInt16BE(0);
    let payload: Buffer;
    try {
      payload = buildQuery(dnsId, req.query ?? '.');
    } catch (e) {
      if (e instanceof DnsNameError) return { ok: false, error: e.message };
      throw e;
    }
    const { host, family, port } = t.value;
    return this.ensureWorker().run({
      kind: 'dns',
      family,
      host,
      port,
      timeoutMs: req.timeoutMs,
      payload,
      dnsId,
      ...extras(req),
    });
  }

  private async tcp(req: ProbeRequest): Promise<ProbeResult> {
    const t = parseEndpoint(req.target);
    if (!t.ok) return { ok: false, error: t.error };
    const bad = checkSource(req.source, t.value.family);
    if (bad) return { ok: false, error: bad };
    return tcpProbe(t.value, req.source, req.timeoutMs, this.abort.signal);
  }

  private async http(req: ProbeRequest): Promise<ProbeResult> {
    const t = parseHttpTarget(req.target);
    if (!t.ok) return { ok: false, error: t.error };
    const bad = checkSource(req.source, t.value.family);
    if (bad) return { ok: false, error: bad };
    return httpProbe(t.value.url, req.source, req.timeoutMs, this.abort.signal);
  }
}

/** The worker-side options present on the request (structured clone drops nothing, but keep it tidy). */
function extras(req: ProbeRequest): { source?: string; mark?: number; device?: string } {
  return {
    ...(req.source ? { source: req.source } : {}),
    ...(req.mark !== undefined ? { mark: req.mark } : {}),
    ...(req.device ? { device: req.device } : {}),
  };
}
