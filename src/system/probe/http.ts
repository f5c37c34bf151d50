/**
 * HTTP(S) GET probe: 2xx and 3xx pass, anything else fails with the status. The URL's
 * host is an IP address (no DNS). As for tcp, Node cannot set SO_MARK or SO_BINDTODEVICE
 * on these sockets: the source address routes the probe.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import type * as Https from 'node:https';
import { builtin } from '../../lazy.js';
import type { ProbeResult } from './types.js';

const https = builtin<typeof Https>('node:https');
const elapsedMs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

export function httpProbe(
  url: URL,
  source: string | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let done = false;
    let req: ClientRequest;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(r);
    };
    const onAbort = () => finish({ ok: false, error: 'prober stopped' });
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), timeoutMs);
    const options = {
      method: 'GET',
      agent: false as const, // a fresh connection per probe, through the requested source
      headers: { 'user-agent': 'uplinkd-probe', accept: '*/*', connection: 'close' },
      ...(source ? { localAddress: source } : {}),
      // Probes test reachability, not identity: a certificate rarely names an IP target.
      rejectUnauthorized: false,
    };
    req = url.protocol === 'https:' ? https().request(url, options) : httpRequest(url, options);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const rttMs = elapsedMs(t0);
      res.resume();
      finish(status >= 200 && status < 400 ? { ok: true, rttMs } : { ok: false, rttMs, error: `HTTP ${status}` });
    });
    req.on('error', (e) => finish({ ok: false, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    signal.addEventListener('abort', onAbort);
    req.end();
  });
}
