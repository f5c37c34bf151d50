/**
 * Helper for test/lab/rule-adopt.test.ts, run inside a lab namespace: a LinuxSystem whose
 * kernel watch feeds a recording sink; it adds a rule that already exists in the kernel (the
 * world has not seen it: the sink drops the initial dump) and prints what happened as JSON.
 */
import pino from 'pino';
import { LinuxSystem } from '../../src/system/linux.js';
import type { KernelEvent, KernelSink } from '../../src/model/kernel.js';

const system = new LinuxSystem(pino({ level: 'silent' }));
const events: KernelEvent[] = [];
const sink: KernelSink = { reset: () => undefined, apply: (e) => events.push(...e), foreign: () => undefined };
const watch = system.kernelWatch({
  protocol: 201,
  tableBase: 7300,
  tableCount: 10,
  rulePriorityBase: 7300,
  rulePriorityCount: 100,
});
await watch.start(sink);
let error: string | undefined;
try {
  await system.apply([{ op: 'add', rule: { family: 4, priority: 7390, table: 7300, protocol: 201 } }]);
} catch (e) {
  error = (e as Error).message;
}
await new Promise((r) => setTimeout(r, 200));
await watch.stop();
const rules = events.filter((e) => e.kind === 'rule').map((e) => (e.kind === 'rule' ? e.rule : undefined));
process.stdout.write(`${JSON.stringify({ error, rules })}\n`);
process.exit(0);
