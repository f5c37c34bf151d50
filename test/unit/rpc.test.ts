import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { dispatch, method, type MethodTable } from '../../src/control/rpc.js';
import { UplinkError } from '../../src/errors.js';

const ctx = { push: () => undefined, onClose: () => undefined };
const table: MethodTable = {
  echo: method({
    params: z.object({ text: z.string() }).strict(),
    handler: (p: { text: string }) => ({ text: p.text }),
  }),
  fails: method({
    params: z.object({}),
    handler: () => {
      throw new UplinkError('CONFIG_INVALID', 'bad config', 'fix it');
    },
  }),
  bug: method({
    params: z.object({}),
    handler: () => {
      throw new TypeError('oops');
    },
  }),
};

test('dispatch answers every malformed request with a coded error', async () => {
  const cases: { line: string; code?: string; id?: unknown; result?: unknown }[] = [
    { line: '{"id":1,"method":"echo","params":{"text":"hi"}}', id: 1, result: { text: 'hi' } },
    { line: 'not json', code: 'RPC_BAD_JSON', id: null },
    { line: '[]', code: 'RPC_BAD_REQUEST', id: null },
    { line: '{"id":2}', code: 'RPC_BAD_REQUEST', id: 2 },
    { line: '{"id":3,"method":"nope"}', code: 'RPC_UNKNOWN_METHOD', id: 3 },
    { line: '{"id":4,"method":"__proto__"}', code: 'RPC_UNKNOWN_METHOD', id: 4 },
    { line: '{"id":5,"method":"echo","params":{"text":5}}', code: 'RPC_BAD_PARAMS', id: 5 },
    { line: '{"id":6,"method":"echo","params":{"text":"a","extra":1}}', code: 'RPC_BAD_PARAMS', id: 6 },
    { line: '{"id":7,"method":"fails"}', code: 'CONFIG_INVALID', id: 7 },
    { line: '{"id":8,"method":"bug"}', code: 'RPC_INTERNAL', id: 8 },
  ];
  for (const c of cases) {
    const r = await dispatch(table, c.line, ctx);
    assert.equal(r.id, c.id, c.line);
    if (c.code) {
      assert.equal(r.ok, false, c.line);
      assert.equal(!r.ok && r.error.code, c.code, c.line);
    } else assert.deepEqual(r.ok && r.result, c.result);
  }
  const unknown = await dispatch(table, '{"id":9,"method":"nope"}', ctx);
  assert.match(!unknown.ok ? (unknown.error.hint ?? '') : '', /known methods: bug, echo, fails/);
  const hinted = await dispatch(table, '{"id":10,"method":"fails"}', ctx);
  assert.equal(!hinted.ok && hinted.error.hint, 'fix it');
});
