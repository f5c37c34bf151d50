/**
 * Kernel changes the daemon asks for, and their `ip` equivalents. The fake
 * System and --dry-run print exactly these commands; the Linux System runs them.
 */
import type { Family } from './types.js';

export interface RouteSpec {
  family: Family;
  table: number;
  protocol: number;
  type: 'unicast' | 'unreachable' | 'blackhole' | 'prohibit';
  dst: string;
  dstLen: number;
  gateway?: string;
  dev?: string;
  metric: number;
}

export type KernelOp = { op: 'add' | 'del'; route: RouteSpec };

export function routeCommand(o: KernelOp): string {
  const r = o.route;
  // Spelled with its family (0.0.0.0/0, ::/0) rather than `-4 … default`: `ip -batch`
  // lines take no global options, so the address must carry the family.
  const dst = `${r.dst}/${r.dstLen}`;
  const parts = ['route', o.op, r.type === 'unicast' ? dst : `${r.type} ${dst}`];
  if (r.gateway) parts.push('via', r.gateway);
  if (r.dev) parts.push('dev', r.dev);
  parts.push('table', String(r.table), 'proto', String(r.protocol), 'metric', String(r.metric));
  return parts.join(' ');
}
