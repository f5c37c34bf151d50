/**
 * How uplinkd runs busybox udhcpc (netifd's choice: it configures nothing itself and keeps no
 * host-wide state). Pure: the script it calls and the command line.
 *
 * The script never touches the network and never fails: it appends the event as one line
 * (one write with O_APPEND, so a reader never sees half of it) to the uplink's lease file,
 * which the daemon watches. No pipe to the daemon: a client whose daemon is away (restarting)
 * keeps its lease and the file keeps the news.
 */

/** The environment variable naming the lease file (the script's only input besides udhcpc's). */
export const LEASE_FILE_ENV = 'UPLINKD_LEASE_FILE';
/** The lease file is cut to its last lines once it grows past this (a server that never answers adds a line every ~15 s). */
export const LEASE_FILE_MAX_BYTES = 65536;

export const UDHCPC_SCRIPT = `#!/bin/sh
# uplinkd's udhcpc script: records each event in the uplink's lease file and configures
# nothing (uplinkd puts the address and routes in place). Written by uplinkd; do not edit.
f="\${${LEASE_FILE_ENV}:-}"
[ -n "$f" ] || exit 0
event="$1"
set -- $router
line="$(date +%s) $PPID $event ip=\${ip:-} subnet=\${subnet:-} router=\${1:-} lease=\${lease:-} serverid=\${serverid:-}"
if [ -f "$f" ] && [ "$(wc -c < "$f")" -gt ${LEASE_FILE_MAX_BYTES} ]; then
  tail -n 16 "$f" > "$f.tmp" && mv -f "$f.tmp" "$f"
fi
printf '%s\\n' "$line" >> "$f"
exit 0
`;

export interface UdhcpcOptions {
  iface: string;
  script: string;
  /** The address the interface holds now: asked for again (-r), so a restart keeps it. */
  requestIp?: string;
}

/**
 * In the foreground (supervised), timing fit for a gateway: discover 5 times 2 s apart, then
 * wait 5 s and start over (never give up, never background). `exec`: the pid is udhcpc's.
 */
export function udhcpcCommand(o: UdhcpcOptions): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const args = ['-f', '-i', q(o.iface), '-s', q(o.script), '-T', '2', '-t', '5', '-A', '5'];
  if (o.requestIp) args.push('-r', q(o.requestIp));
  return `exec busybox udhcpc ${args.join(' ')}`;
}
