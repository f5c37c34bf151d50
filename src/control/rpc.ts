/**
 * Newline-delimited JSON-RPC: a request is `{id, method, params}`, a reply
 * `{id, ok:true, result}` or `{id, ok:false, error:{code, message, hint}}`.
 * Streams (monitor) send `{id, event}` lines until the connection closes.
 */
import { z } from 'zod';
import { UplinkError, isUplinkError } from '../errors.js';

export interface RpcContext {
  /** For streaming methods: send one event line to this client. */
  push(event: unknown): void;
  /** Called when the client goes away. */
  onClose(fn: () => void): void;
}

export interface Method<P extends z.ZodType = z.ZodType> {
  params: P;
  /** Streaming methods keep the connection open after their first reply. */
  stream?: boolean;
  handler(params: z.output<P>, ctx: RpcContext): Promise<unknown> | unknown;
}

export type MethodTable = Record<string, Method>;

export function method<P extends z.ZodType>(m: Method<P>): Method {
  return m as unknown as Method;
}

export const requestSchema = z.object({
  id: z.union([z.string(), z.number()]),
  method: z.string(),
  params: z.unknown().optional(),
});

export type Reply =
  | { id: string | number | null; ok: true; result: unknown }
  | { id: string | number | null; ok: false; error: { code: string; message: string; hint?: string } };

export function errorReply(id: string | number | null, e: unknown): Reply {
  if (isUplinkError(e)) return { id, ok: false, error: e.toJSON() };
  return {
    id,
    ok: false,
    error: {
      code: 'RPC_INTERNAL',
      message: String((e as Error)?.message ?? e),
      hint: 'this is a bug; the daemon logged it',
    },
  };
}

/** Parses and dispatches one request line. Never throws: every failure is a coded reply. */
export async function dispatch(table: MethodTable, line: string, ctx: RpcContext): Promise<Reply> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return errorReply(
      null,
      new UplinkError('RPC_BAD_JSON', 'request is not valid JSON', 'send one JSON object per line'),
    );
  }
  const req = requestSchema.safeParse(raw);
  if (!req.success) {
    const id = typeof raw === 'object' && raw && 'id' in raw ? (((raw as { id: unknown }).id as string) ?? null) : null;
    return errorReply(
      id,
      new UplinkError('RPC_BAD_REQUEST', 'request needs "id" and "method"', 'e.g. {"id":1,"method":"status"}'),
    );
  }
  const { id, method: name, params } = req.data;
  return call(table, id, name, params, ctx);
}

/**
 * Calls one method of the table with its params: the socket's dispatch and the HTTP API both
 * come here, so a call means the same whichever door it came through. Never throws.
 */
export async function call(
  table: MethodTable,
  id: string | number | null,
  name: string,
  params: unknown,
  ctx: RpcContext,
): Promise<Reply> {
  const m = Object.hasOwn(table, name) ? table[name] : undefined;
  if (!m)
    return errorReply(
      id,
      new UplinkError(
        'RPC_UNKNOWN_METHOD',
        `unknown method "${name}"`,
        `known methods: ${Object.keys(table).sort().join(', ')}`,
      ),
    );
  const p = m.params.safeParse(params ?? {});
  if (!p.success) {
    const msg = p.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ');
    return errorReply(id, new UplinkError('RPC_BAD_PARAMS', `bad params for "${name}": ${msg}`));
  }
  try {
    return { id, ok: true, result: (await m.handler(p.data, ctx)) ?? null };
  } catch (e) {
    return errorReply(id, e);
  }
}
