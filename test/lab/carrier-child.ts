/**
 * Helper for test/lab/carrier-poll.test.ts, run inside a lab namespace with `ip netns exec`
 * (whose /sys is the namespace's): a CarrierPoller on veth xa (peer xb) through carrier flips,
 * admin down, the device deleted and made again under the same name, and an unwatch. Prints
 * one JSON line of what it saw at each step.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CarrierPoller } from '../../src/system/carrier.js';
import type { LinkInfo } from '../../src/model/kernel.js';

const ip = (...args: string[]) => execFileSync('ip', args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const index = () => Number(readFileSync('/sys/class/net/xa/ifindex', 'utf8'));
const pair = () => {
  ip('link', 'add', 'name', 'xa', 'type', 'veth', 'peer', 'name', 'xb');
  ip('link', 'set', 'dev', 'xb', 'up');
  ip('link', 'set', 'dev', 'xa', 'up');
};

pair();
await sleep(50);
let known: LinkInfo = { index: index(), name: 'xa', up: true, carrier: true, operstate: 'UP', mtu: 1500 };
const seen: boolean[] = [];
const poller = new CarrierPoller(
  2,
  (name) => (name === 'xa' ? known : undefined),
  (l) => {
    seen.push(l.carrier);
    known = l; // as the kernel watch does with what it reports
  },
);
const steps: Record<string, unknown> = {};
const step = async (name: string, ms = 60) => {
  await sleep(ms);
  steps[name] = { seen: [...seen], open: poller.openFiles, polling: poller.polling };
};
poller.start();
poller.watch(['xa']);
await step('watching');
ip('link', 'set', 'dev', 'xb', 'down');
await step('peer down');
ip('link', 'set', 'dev', 'xb', 'up');
await step('peer up');
// Admin down: the kernel watch says so (the poller skips a link that is not up); reading the
// file meanwhile would give EINVAL.
ip('link', 'set', 'dev', 'xa', 'down');
known = { ...known, up: false, carrier: false };
await step('admin down');
ip('link', 'set', 'dev', 'xa', 'up');
known = { ...known, up: true };
await step('admin up');
const before = known.index;
ip('link', 'del', 'dev', 'xa');
pair();
await sleep(50);
// The kernel watch learns the new device; its carrier as last reported: down.
known = { ...known, index: index(), carrier: false };
await step('made again');
poller.watch([]);
await step('unwatched', 5);
poller.stop();
console.log(JSON.stringify({ steps, newIndex: known.index !== before }));
