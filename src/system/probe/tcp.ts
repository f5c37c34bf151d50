/**
 * TCP connect probe. A completed handshake or a refusal (RST) both prove the path to the
 * target works. Node's net.Socket cannot set SO_MARK or SO_BINDTODEVICE, so `mark` and
 * `device` are not applied here: binding to the uplink's source address (and the
 * `from <address> lookup <uplink table>` rule) is what routes the probe.
 */
import { connect } from 'node:net';
import type { Endpoint } from '../../model/probe-target.js';
import type { ProbeResult } from './types.js';

const elapsedMs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const errCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

export function tcpProbe(
  ep: Endpoint,
  source: string | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let done = false;
    const sock = connect({
      host: ep.host,
      port: ep.port,
      family: ep.family,
      ...(source ? { localAddress: source } : {}),
    });
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      // RST instead of FIN: no TIME_WAIT left behind per probe.
      if (typeof sock.resetAndDestroy === 'function' && !sock.destroyed && sock.readyState === 'open')
        sock.resetAndDestroy();
      else sock.destroy();
      resolve(r);
    };
    const onAbort = () => finish({ ok: false, error: 'prober stopped' });
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), timeoutMs);
    signal.addEventListener('abort', onAbort);
    sock.once('connect', () => finish({ ok: true, rttMs: elapsedMs(t0) }));
    sock.on('error', (e) => {
      if (errCode(e) === 'ECONNREFUSED') finish({ ok: true, rttMs: elapsedMs(t0) });
      else finish({ ok: false, error: errCode(e) });
    });
  });
}
