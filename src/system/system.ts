/** The one door to the OS. Everything outside src/system/ talks to the machine through this. */
import type { KernelWatch } from './kernel.js';
import type { KernelOp } from './ops.js';
import type { RouteFilter } from './types.js';

export interface System {
  readonly kind: 'linux' | 'dry-run' | 'fake';
  kernelWatch(filter: RouteFilter, rcvbuf?: number): KernelWatch;
  /** Applies kernel ops in order; rejects with an UplinkError saying which op failed. */
  apply(ops: KernelOp[]): Promise<void>;
}
