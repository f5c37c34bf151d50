/** The offload worker thread: runs tasks one at a time and posts each answer back. */
import { parentPort } from 'node:worker_threads';
import type { ConfigProblem } from '../config/errors.js';
import { runTask, type Task, type TaskReply } from './tasks.js';

parentPort!.on('message', async ({ id, task }: { id: number; task: Task }) => {
  let reply: TaskReply;
  try {
    reply = { ok: true, value: await runTask(task) };
  } catch (e) {
    const err = e as { code?: string; message: string; hint?: string; problems?: ConfigProblem[] };
    reply = {
      ok: false,
      error: {
        code: err.code ?? 'RPC_INTERNAL',
        message: err.message,
        ...(err.hint ? { hint: err.hint } : {}),
        ...(err.problems ? { problems: err.problems } : {}),
      },
    };
  }
  parentPort!.postMessage({ id, reply });
});
