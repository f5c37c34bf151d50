/** Shared pieces of the fake-System tests: links, a two-uplink kernel, polling. */
import type { LinkInfo } from '../../src/model/kernel.js';
import { FakeSystem } from '../../src/system/fake.js';

export const link = (index: number, name: string, o: Partial<LinkInfo> = {}): LinkInfo => ({
  index,
  name,
  up: true,
  carrier: true,
  operstate: 'up',
  mtu: 1500,
  ...o,
});

/** lo, wan1 (198.51.100.2/30) and wan2 (203.0.113.2/30) with carrier. */
export function kernelWithTwoUplinks(system = new FakeSystem()): FakeSystem {
  const k = system.kernel;
  k.links.set(1, link(1, 'lo'));
  k.links.set(2, link(2, 'wan1'));
  k.links.set(3, link(3, 'wan2'));
  k.addrs.push(
    { family: 4, index: 2, address: '198.51.100.2', prefixlen: 30, scope: 0 },
    { family: 4, index: 3, address: '203.0.113.2', prefixlen: 30, scope: 0 },
  );
  return system;
}

/** Polls `fn` every 10 ms until true; throws after `ms`. */
export async function until(what: string, fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
