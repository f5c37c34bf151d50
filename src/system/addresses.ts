/** This machine's interface addresses (`ip -j addr`), for `uplink check` run on the gateway itself. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface LocalAddr {
  ifname: string;
  family: 4 | 6;
  address: string;
  prefixlen: number;
}

interface IpAddrJson {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

export async function readAddresses(): Promise<LocalAddr[]> {
  const { stdout } = await promisify(execFile)('ip', ['-j', 'addr', 'show']);
  return (JSON.parse(stdout) as IpAddrJson[]).flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => a.family === 'inet' || a.family === 'inet6')
      .map((a) => ({
        ifname: l.ifname,
        family: a.family === 'inet' ? (4 as const) : (6 as const),
        address: a.local,
        prefixlen: a.prefixlen,
      })),
  );
}
