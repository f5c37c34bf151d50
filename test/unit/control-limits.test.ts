/**
 * The control socket's bounds, on a real unix socket: a client that pipelines without reading
 * makes the server stop taking its requests (and still gets every answer once it reads); the
 * connection cap makes room by closing the longest-idle client and refuses only when all are
 * busy; silent clients are closed; a stream whose reader falls behind is dropped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { z } from 'zod';
import { rpc } from '../../src/control/client.js';
import { method, type MethodTable } from '../../src/control/rpc.js';
import { ControlServer } from '../../src/control/server.js';
import { LIMITS } from '../../src/control/connection.js';
import { listenUnix } from '../../src/system/control-socket.js';

const unixListener = {
  listen: (p: string, fn: Parameters<typeof listenUnix>[1]) => listenUnix(p, fn, pino({ level: 'silent' })),
};
const none = z.object({}).strict();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serve(
  t: { after(fn: () => unknown): void },
  methods: MethodTable,
  o: Partial<typeof LIMITS> & { maxClients?: number } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-limits-'));
  const path = join(dir, 'uplinkd.sock');
  const { maxClients = 64, ...conn } = o;
  const server = new ControlServer(unixListener, path, methods, { maxClients, connection: { ...LIMITS, ...conn } });
  await server.start();
  t.after(async () => {
    server.closeClients();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return path;
}

const connect = (path: string) =>
  new Promise<Socket>((resolve, reject) => {
    const s = createConnection(path);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

test('control limits: a pipelining client that does not read is not served beyond the bounds; reading, it gets every answer', async (t) => {
  let handled = 0;
  const reply = 'x'.repeat(10_000);
  const path = await serve(
    t,
    { big: method({ params: none, handler: () => (handled++, { reply }) }) },
    { maxOut: 64 << 10 },
  );
  const s = await connect(path);
  const N = 5000;
  s.write(Array.from({ length: N }, (_, i) => `{"id":${i},"method":"big"}\n`).join(''));
  await sleep(300);
  const whileNotReading = handled;
  // Without a bound all 5,000 would be answered into the daemon's memory (50 MB here).
  assert.ok(whileNotReading < 200, `${whileNotReading} requests handled for a client that reads nothing`);
  let lines = 0;
  let buf = '';
  const ids: number[] = [];
  await new Promise<void>((resolve) => {
    s.on('data', (c) => {
      buf += c;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        ids.push((JSON.parse(buf.slice(0, nl)) as { id: number }).id);
        buf = buf.slice(nl + 1);
        if (++lines === N) resolve();
      }
    });
  });
  s.destroy();
  assert.equal(handled, N);
  assert.deepEqual(ids.slice(0, 5), [0, 1, 2, 3, 4]);
  assert.equal(new Set(ids).size, N, 'every request answered once');
});

test('control limits: the cap closes the longest-idle client for a new one; all busy → RPC_BUSY', async (t) => {
  const path = await serve(
    t,
    {
      ping: method({ params: none, handler: () => ({ pong: true }) }),
      watch: method({ params: none, stream: true, handler: (_p, ctx) => (ctx.onClose(() => undefined), { ok: 1 }) }),
    },
    { maxClients: 3 },
  );
  const idle = [await connect(path), await connect(path), await connect(path)];
  await sleep(20);
  assert.deepEqual(await rpc(path, 'ping'), { pong: true }, 'a new client gets in at the cap');
  await closed(idle[0]!);
  assert.equal(idle[1]!.destroyed, false, 'only the longest-idle one was closed');
  for (const s of idle) s.destroy();
  await sleep(20);
  const streams = await Promise.all([0, 1, 2].map(() => connect(path)));
  for (const s of streams) s.write('{"id":1,"method":"watch"}\n');
  await sleep(50);
  const busy = await connect(path);
  const line = await new Promise<string>((r) => busy.once('data', (c) => r(String(c))));
  assert.equal(JSON.parse(line).error.code, 'RPC_BUSY');
  for (const s of streams) assert.equal(s.destroyed, false, 'streams are never evicted');
  for (const s of [...streams, busy]) s.destroy();
});

test('control limits: a silent client is closed after the idle time; a reading stream stays', async (t) => {
  const path = await serve(
    t,
    { watch: method({ params: none, stream: true, handler: (_p, ctx) => (ctx.onClose(() => undefined), { ok: 1 }) }) },
    { idleMs: 100 },
  );
  const silent = await connect(path);
  const stream = await connect(path);
  stream.on('data', () => undefined);
  stream.write('{"id":1,"method":"watch"}\n');
  await closed(silent);
  await sleep(250);
  assert.equal(stream.destroyed, false);
  stream.destroy();
});

test('control limits: a stream whose reader falls behind is dropped, and unsubscribed', async (t) => {
  let gone = 0;
  let push: ((e: unknown) => void) | undefined;
  const path = await serve(
    t,
    {
      watch: method({
        params: none,
        stream: true,
        handler: (_p, ctx) => {
          push = ctx.push;
          ctx.onClose(() => gone++);
          return { ok: 1 };
        },
      }),
    },
    { maxOut: 64 << 10 },
  );
  const s = await connect(path);
  s.write('{"id":1,"method":"watch"}\n');
  await sleep(50);
  const event = { pad: 'y'.repeat(10_000) };
  for (let i = 0; i < 2000 && gone === 0; i++) {
    push?.(event);
    if (i % 50 === 0) await sleep(1);
  }
  await sleep(50);
  assert.equal(gone, 1, 'the lagging stream was dropped and its subscription ended');
  s.destroy();
});

test('fuzz: control framing: requests split at random points get every answer, in order', async (t) => {
  const path = await serve(t, {
    echo: method({ params: z.object({ n: z.number() }).strict(), handler: (p: { n: number }) => ({ n: p.n }) }),
  });
  let tried = 0;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.array(fc.nat(), { maxLength: 12 }), async (n, cuts) => {
      tried++;
      const text = Array.from({ length: n }, (_, i) => `{"id":${i},"method":"echo","params":{"n":${i}}}\n`).join('');
      const at = [...new Set(cuts.map((c) => c % text.length))].sort((a, b) => a - b);
      const s = await connect(path);
      const got: number[] = [];
      const done = new Promise<void>((resolve) => {
        let buf = '';
        s.on('data', (c) => {
          buf += c;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            got.push((JSON.parse(buf.slice(0, nl)) as { result: { n: number } }).result.n);
            buf = buf.slice(nl + 1);
          }
          if (got.length === n) resolve();
        });
      });
      let prev = 0;
      for (const c of [...at, text.length]) {
        s.write(text.slice(prev, c));
        prev = c;
        await new Promise((r) => setImmediate(r));
      }
      await done;
      s.destroy();
      assert.deepEqual(
        got,
        Array.from({ length: n }, (_, i) => i),
      );
    }),
    { numRuns: 100 },
  );
  assert.equal(tried, 100);
});
