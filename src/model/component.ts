/**
 * A long-lived part of the daemon. The constructor does nothing; `start` brings it up,
 * `stop` ends its timers and work but leaves the machine as it is (hitless restarts), and
 * `teardown` (after `stop`, for `uplink quit --teardown`) removes what it made. The
 * controller starts its components in order and stops them in reverse, exactly once.
 */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  teardown?(): Promise<void>;
}
