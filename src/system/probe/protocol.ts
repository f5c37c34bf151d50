/** Messages between the main thread and the probe worker (which owns every ICMP and DNS probe socket). */
import type { IcmpMode } from './types.js';

export interface WorkerInit {
  /** Our effective gid: the one ping_group_range must include. */
  gid: number;
  /** Widen net.ipv4.ping_group_range when ICMP datagram sockets are refused (else go raw at once). */
  widen: boolean;
  /** Use raw ICMP sockets whatever the sysctl says (tests, odd kernels). */
  forceRaw: boolean;
}

/** One datagram probe: an ICMP echo, or a DNS query over UDP. */
export interface DgramProbe {
  t: 'probe';
  id: number;
  kind: 'icmp' | 'dns';
  family: 4 | 6;
  host: string;
  /** UDP port for dns; 0 for icmp. */
  port: number;
  source?: string;
  mark?: number;
  device?: string;
  timeoutMs: number;
  /** dns: the query packet, and its id to match the reply. */
  payload?: Uint8Array;
  dnsId?: number;
}

export type ToWorker = DgramProbe | { t: 'stop' };

export type FromWorker =
  /** How ICMP probes are sent; first at start-up, again whenever it changes. */
  | { t: 'mode'; mode: IcmpMode; detail: string }
  | { t: 'result'; id: number; ok: boolean; rttMs?: number; error?: string }
  | { t: 'fatal'; error: string };
