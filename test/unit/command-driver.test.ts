/**
 * The command driver between a connect process's exit and the end of its process group: the
 * main process is gone (`running` is false) while the rest of its group is still being
 * killed, and only then does `exited` resolve. No dial may start in that window: the re-dial
 * comes after, with what was lost, counted, and under the holdoff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseConfigText } from '../../src/config/load.js';
import type { ExitReason, SupervisedProcess, System } from '../../src/system/system.js';
import { CommandDriver } from '../../src/uplinks/command.js';

/** A connect process whose main can exit before its group is gone. */
class Lingering implements SupervisedProcess {
  readonly startTime = 1;
  running = true;
  readonly exited: Promise<ExitReason>;
  private done!: (r: ExitReason) => void;
  constructor(readonly pid: number) {
    this.exited = new Promise((r) => (this.done = r));
  }
  signal(): boolean {
    return this.running;
  }
  /** The main process exits; its group is still there. */
  mainExit(): void {
    this.running = false;
  }
  /** The group is gone too: the exit is final. */
  groupGone(r: ExitReason): void {
    this.running = false;
    this.done(r);
  }
  async stop(): Promise<ExitReason> {
    this.groupGone({ code: null, signal: 'SIGTERM' });
    return this.exited;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

for (const holdoff of ['0s', '1h']) {
  test(`command driver: no dial while the last process's group is still ending (holdoff ${holdoff})`, async () => {
    const cfg = parseConfigText(
      `uplinks:\n  dsl: { interface: ppp0, connect: pppd, redial: { holdoff: ${holdoff}, backoff: 1s } }\n`,
      'c.yaml',
    );
    const procs: Lingering[] = [];
    const dials: { attempt: number; lost?: string }[] = [];
    const d = new CommandDriver({
      name: 'dsl',
      system: { spawn: () => procs[procs.push(new Lingering(100 + procs.length)) - 1]! } as unknown as Pick<
        System,
        'spawn' | 'adopt'
      >,
      cfg: cfg.uplinks.dsl!,
      env: {},
      log: pino({ level: 'silent' }),
      onChange: () => undefined,
      onDial: (attempt, lost) => dials.push({ attempt, ...(lost ? { lost: lost.what } : {}) }),
    });
    d.ensure(true, Date.now());
    await tick();
    assert.equal(procs.length, 1, 'the first dial');
    d.markUp();

    procs[0]!.mainExit();
    assert.equal(d.running, false);
    for (let i = 0; i < 3; i++) {
      d.ensure(true, Date.now()); // reconciles while the group is being killed
      await tick();
    }
    assert.equal(procs.length, 1, 'no second process while the first one is still ending');

    procs[0]!.groupGone({ code: 1, signal: null });
    await tick();
    d.ensure(true, Date.now());
    await tick();
    if (holdoff === '0s') {
      assert.equal(procs.length, 2, 're-dialed once the exit was handled');
      assert.deepEqual(dials, [{ attempt: 1 }, { attempt: 1, lost: 'connect process exited with 1' }]);
    } else {
      assert.equal(procs.length, 1, 'the holdoff applies');
      assert.ok(d.holdoff && d.nextDialAt! > Date.now() + 3_500_000, `next dial at ${d.nextDialAt}`);
    }
  });
}
