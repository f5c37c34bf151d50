/** Runs the built uplinkd inside a lab namespace and talks to it like a user would. */
import { readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ControlClient, rpc } from '../control/client.js';
import type { DaemonEvent } from '../events/bus.js';
import type { Status } from '../control/status.js';
import { parseConfigText } from '../config/load.js';
import { cgroup2SuperOptions, cgroupOf } from '../system/supervise/cgroup.js';
import { removeJobCgroups } from './cgroups.js';
import { waitFor, type Lab, type Ns, type NsProcess } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
export const UPLINKD = resolve(here, '../daemon/main.js');
export const UPLINK = resolve(here, '../cli/main.js');

export interface RunningDaemon {
  proc: NsProcess;
  socket: string;
  configFile: string;
  status(): Promise<Status>;
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Writes the config with this lab's private socket and state dir, and starts uplinkd in `ns`. */
export interface StartOptions {
  configFile?: string;
  controlYaml?: boolean;
  args?: string[];
  /** Runs the daemon under this argv (e.g. `unshare -m sh -c '…; exec "$0" "$@"'`). */
  wrap?: string[];
  /** Merged over the environment (e.g. a PATH whose `nft` refuses). */
  env?: Record<string, string>;
}

export async function startDaemon(
  lab: Lab,
  ns: Ns,
  uplinksYaml: string,
  opts: StartOptions = {},
): Promise<RunningDaemon> {
  const configFile = opts.configFile ?? lab.tempFile('uplinkd.yaml', '');
  const dir = dirname(configFile);
  const socket = join(dir, 'uplinkd.sock');
  if (!opts.configFile) writeFileSync(configFile, labConfig(dir, uplinksYaml, opts.controlYaml));
  const argv = [process.execPath, UPLINKD, '--config', configFile, '--log-format', 'json', ...(opts.args ?? [])];
  const [cmd, ...rest] = [...(opts.wrap ?? []), ...WITH_CGROUPS(), ...argv];
  const proc = ns.spawn(cmd!, rest, opts.env ? { env: opts.env } : undefined);
  // Its jobs' cgroups are the host's, not the namespace's: removed by exact name at teardown.
  const stateDir = stateDirOf(configFile);
  if (stateDir) lab.onTeardown(() => removeJobCgroups(stateDir));
  // The socket answers before the start has ended (status says starting): tests begin after it.
  await waitFor(async () => (await (rpc(socket, 'status') as Promise<Status>)).daemon.starting === false, {
    timeoutMs: 15000,
    what: `uplinkd started, answering on ${socket}`,
  });
  return {
    proc,
    socket,
    configFile,
    status: () => rpc(socket, 'status') as Promise<Status>,
    cli: (args) => uplinkCli(['--socket', socket, ...args]),
  };
}

/**
 * `ip netns exec` mounts a fresh /sys for the namespace, which hides every cgroup mount
 * (measured): the daemon would see no cgroup v2 and contain its jobs by process group only.
 * Where the host has cgroup v2, mount it again inside (the mount is private to that exec).
 */
const WITH_CGROUPS = (): string[] => {
  const opts = cgroup2SuperOptions();
  // cgroup2 has one superblock: a mount with other options would change them for the host.
  return opts !== undefined && cgroupOf('self')
    ? ['/bin/sh', '-c', `mount -t cgroup2 -o ${opts} cgroup2 /sys/fs/cgroup; exec "$@"`, 'sh']
    : [];
};

/** The config's state dir; undefined for a config the daemon refuses (it runs no jobs). */
function stateDirOf(configFile: string): string | undefined {
  try {
    return parseConfigText(readFileSync(configFile, 'utf8'), configFile).control.state_dir;
  } catch {
    return undefined;
  }
}

/** `extra` may start with its own `control:` block (controlYaml): our socket and state lines join it. */
export function labConfig(dir: string, extra: string, controlYaml = false): string {
  const ours = `  socket: ${join(dir, 'uplinkd.sock')}\n  state_dir: ${join(dir, 'state')}\n  run_dir: ${join(dir, 'run')}\n`;
  return controlYaml ? extra.replace('control:\n', `control:\n${ours}`) : `control:\n${ours}${extra}`;
}

export async function uplinkCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    // 64 MB: a plan of tens of thousands of forwards prints a line each.
    const r = await promisify(execFile)(process.execPath, [UPLINK, ...args], {
      encoding: 'utf8',
      timeout: 30000,
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string; message?: string };
    const why = typeof err.code === 'number' ? '' : `(${err.code ?? 'killed'}: ${err.message ?? ''})`;
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr || why };
  }
}

/** Subscribes to the event stream; `events` fills as they come. */
export async function monitor(socket: string): Promise<{ events: DaemonEvent[]; close(): void }> {
  const c = new ControlClient(socket);
  await c.connect();
  const events: DaemonEvent[] = [];
  c.onEvent((e) => events.push(e as DaemonEvent));
  await c.call('monitor', {});
  return { events, close: () => c.close() };
}

/** The daemon's history of one event type, as `uplink events --json --type TYPE` prints it. */
export async function eventsOfType<T extends DaemonEvent['type']>(
  d: RunningDaemon,
  type: T,
): Promise<Extract<DaemonEvent, { type: T }>[]> {
  const r = await d.cli(['events', '--json', '--type', type]);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/**
 * A sink of src/lab/sinks.ts running in `ns` (`args`: its kind, address, port, ...), and what it
 * has received: each stdout line `{"KEY": ...}`.
 */
export async function startSink<T>(ns: Ns, args: string[], key: string): Promise<{ proc: NsProcess; got: () => T[] }> {
  const proc = ns.spawn(process.execPath, [resolve(here, 'sinks.js'), ...args]);
  await proc.waitForLine(/"listening":true/);
  const got = () =>
    proc
      .lines('stdout')
      .filter((l) => l.startsWith(`{"${key}"`))
      .map((l) => (JSON.parse(l) as Record<string, T>)[key]!);
  return { proc, got };
}
