/** Health-probe primitives: one request in, one result out (scheduling and judging live elsewhere). */
export type ProbeMethod = 'icmp' | 'tcp' | 'http' | 'dns';

export interface ProbeRequest {
  method: ProbeMethod;
  /** icmp: IP; tcp: "IP:PORT" or "[v6]:PORT"; http: URL; dns: server IP (optionally IP:PORT / [v6]:PORT). */
  target: string;
  /** The uplink's address: sockets bind to it, so `from <address> lookup <uplink table>` routes the probe out of that uplink. */
  source?: string;
  /** SO_MARK on the socket (icmp and dns only: Node's net/http sockets cannot carry a mark). */
  mark?: number;
  /** SO_BINDTODEVICE (icmp and dns only). */
  device?: string;
  timeoutMs: number;
  /** dns: name to query, default "." (type NS for ".", else A). */
  query?: string;
}

export interface ProbeResult {
  ok: boolean;
  rttMs?: number;
  error?: string;
}

/** How ICMP probes are sent: datagram "ping" sockets, raw sockets, or not known yet / impossible. */
export type IcmpMode = 'dgram' | 'raw' | 'unknown';
