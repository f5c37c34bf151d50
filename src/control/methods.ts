/** The control method table: name → params schema + handler. */
import { z } from 'zod';
import { method, type Method, type MethodTable } from './rpc.js';
import { UplinkError } from '../errors.js';
import type { DaemonEvent } from '../events/bus.js';
import type { Status } from './status.js';
import type { AdminAction } from '../uplinks/admin.js';

export interface ControlApi {
  status(): Status;
  reload(): Promise<{ changed: boolean; message: string }>;
  /** `onClientClose` (`--wait`): roll back when this client's connection closes while its apply is pending. */
  apply(text: string, file: string, seconds: number, onClientClose?: (fn: () => void) => void): Promise<unknown>;
  confirm(): Promise<{ message: string }>;
  rollback(): Promise<{ message: string }>;
  quit(teardown: boolean): void;
  plan(source: { text: string } | { path: string }, file: string): Promise<unknown>;
  admin(action: AdminAction, name: string): Promise<{ message: string }>;
  unforce(): Promise<{ message: string }>;
  demand(name: string, on: boolean): Promise<{ message: string }>;
  job(action: 'start' | 'stop' | 'restart', name: string): Promise<{ message: string }>;
  subscribe(fn: (e: DaemonEvent) => void): () => void;
  history(): DaemonEvent[];
  /** A one-time dashboard login URL (`uplink dashboard`). */
  login(): { url: string; expiresInS: number };
  /** Memory in MB; with `gc` and a daemon run with --expose-gc, after a full collection (soak tests). */
  memory(gc: boolean): { rssMb: number; heapUsedMb: number; heapDataMb: number; gcForced: boolean };
}

const none = z.object({}).strict();

export function controlMethods(api: ControlApi): MethodTable {
  return {
    ping: method({ params: none, handler: () => ({ pong: true }) }),
    status: method({ params: none, handler: () => api.status() }),
    reload: method({ params: none, handler: () => api.reload() }),
    ...Object.fromEntries(
      (['up', 'down', 'force', 'block', 'unblock'] as const).map((a) => [
        a,
        method({
          params: z.object({ name: z.string().min(1) }).strict(),
          handler: (p: { name: string }) => api.admin(a, p.name),
        }),
      ]),
    ),
    unforce: method({ params: none, handler: () => api.unforce() }),
    apply: method({
      params: z
        .object({
          text: z.string(),
          file: z.string().min(1),
          seconds: z.number().positive().finite(),
          wait: z.boolean().default(false),
        })
        .strict(),
      // A stream, so a waiting client is never closed as idle; it gets the apply events.
      stream: true,
      handler: async (p: { text: string; file: string; seconds: number; wait: boolean }, ctx) => {
        // Subscribed once this apply is pending: an earlier apply's outcome is not this one's.
        const watch = (fn: () => void) => {
          ctx.onClose(api.subscribe((e) => e.type === 'apply' && e.action !== 'apply' && ctx.push(e)));
          ctx.onClose(fn);
        };
        return api.apply(p.text, p.file, p.seconds, p.wait ? watch : undefined);
      },
    }),
    confirm: method({ params: none, handler: () => api.confirm() }),
    login: method({ params: none, handler: () => api.login() }),
    rollback: method({ params: none, handler: () => api.rollback() }),
    memory: method({
      params: z.object({ gc: z.boolean().default(false) }).strict(),
      handler: (p: { gc: boolean }) => api.memory(p.gc),
    }),
    demand: method({
      params: z.object({ name: z.string().min(1), on: z.boolean() }).strict(),
      handler: (p: { name: string; on: boolean }) => api.demand(p.name, p.on),
    }),
    job: method({
      params: z.object({ action: z.enum(['start', 'stop', 'restart']), name: z.string().min(1) }).strict(),
      handler: (p: { action: 'start' | 'stop' | 'restart'; name: string }) => api.job(p.action, p.name),
    }),
    plan: method({
      // `path`: a config too big for one request line, read by the daemon.
      params: z
        .object({ text: z.string().optional(), path: z.string().optional(), file: z.string().default('config') })
        .strict()
        .refine((p) => (p.text === undefined) !== (p.path === undefined), 'give text or path'),
      handler: (p: { text?: string; path?: string; file: string }) =>
        api.plan(p.text !== undefined ? { text: p.text } : { path: p.path! }, p.file),
    }),
    quit: method({
      params: z.object({ teardown: z.boolean().default(false) }).strict(),
      handler: (p: { teardown: boolean }) => (api.quit(p.teardown), { stopping: true, teardown: p.teardown }),
    }),
    events: method({
      params: z.object({ sinceMs: z.number().nonnegative().optional(), type: z.string().optional() }).strict(),
      handler: (p: { sinceMs?: number; type?: string }) => {
        const from = p.sinceMs === undefined ? 0 : Date.now() - p.sinceMs;
        return api.history().filter((e) => (!p.type || e.type === p.type) && Date.parse(e.time) >= from);
      },
    }),
    monitor: method({
      params: z.object({ history: z.boolean().default(false) }).strict(),
      stream: true,
      handler: (p: { history: boolean }, ctx) => {
        if (p.history) for (const e of api.history()) ctx.push(e);
        ctx.onClose(api.subscribe((e) => ctx.push(e)));
        return { subscribed: true };
      },
    }),
  };
}

/** Served while the daemon starts (the socket answers first) or stops: they read, they change nothing. */
const ALWAYS = new Set(['ping', 'status', 'events', 'monitor', 'memory']);

/**
 * The method table with every other method refused while the daemon starts (DAEMON_STARTING:
 * `rpc()` waits and asks again, so `uplink reload` right after a start just waits) or stops.
 */
export function gated(table: MethodTable, phase: () => 'starting' | 'stopping' | undefined): MethodTable {
  const refuse = (name: string, m: Method): Method => ({
    ...m,
    handler: (params, ctx) => {
      const p = phase();
      if (p === 'starting')
        throw new UplinkError(
          'DAEMON_STARTING',
          `uplinkd is still starting: ${name} must wait`,
          'ask again in a moment',
        );
      if (p === 'stopping') throw new UplinkError('DAEMON_STOPPING', `uplinkd is stopping: ${name} refused`);
      return m.handler(params, ctx);
    },
  });
  return Object.fromEntries(Object.entries(table).map(([name, m]) => [name, ALWAYS.has(name) ? m : refuse(name, m)]));
}
