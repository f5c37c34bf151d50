/** Messages between the kernel watch and its service in the I/O thread (netlink/service.ts). */
import type { AddrInfo, KernelEvent, LinkInfo, RouteFilter, RouteInfo, RuleInfo } from '../../model/kernel.js';

export interface WorkerInit {
  filter: RouteFilter;
  rcvbuf: number;
}

export type ToWorker = { t: 'dump'; id: number; what: DumpWhat } | { t: 'stop' };

/** `state`: links, addresses and the routes we store (filtered dumps); `count6`: a counting-only IPv6 route dump. */
export type DumpWhat = 'state' | 'routes' | 'count6';

export interface DumpResult {
  links: LinkInfo[];
  addrs: AddrInfo[];
  routes: RouteInfo[];
  rules: RuleInfo[];
  /** Only for `count6`: non-stored IPv6 routes per table. */
  count6?: Record<string, number>;
}

export type FromWorker =
  /** `ruleset`: whether nf_tables change events are watched (they are not without nf_tables). */
  | { t: 'ready'; ruleset: boolean }
  | {
      t: 'events';
      events: KernelEvent[];
      /** Net change of non-stored IPv6 routes per table since the last batch. */
      foreign6: Record<string, number>;
      /** Some non-stored IPv4 route changed: re-read the kernel's per-table counts. */
      foreign4: boolean;
      messages: number;
    }
  | { t: 'overrun' }
  /** nf_tables changed these tables (`lost`: events were dropped, any table may have changed). */
  | { t: 'ruleset'; tables: string[]; lost?: boolean }
  | { t: 'dump'; id: number; result?: DumpResult; error?: string }
  | { t: 'fatal'; error: string };
