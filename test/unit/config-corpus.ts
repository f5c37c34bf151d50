/**
 * Malformed configs, each with the one problem it must produce: exact line:column,
 * key path, and a distinctive part of the message or hint.
 */
export interface BadCase {
  name: string;
  yaml: string;
  line: number;
  column: number;
  path: string;
  /** Must occur in `message — hint`. */
  has: string;
  /** How many problems in all (default 1). */
  count?: number;
}

const up = (body: string): string => `uplinks:\n  dsl:\n    interface: ppp0\n${body}`;

export const BAD: BadCase[] = [
  // durations
  { name: 'duration with a spelled-out unit', yaml: up('    probe: { interval: 5 sec }\n'), line: 4, column: 24, path: 'uplinks.dsl.probe.interval', has: '"5 sec" is not a duration — write 5s' },
  { name: 'duration without a unit', yaml: up('    probe:\n      timeout: 5\n'), line: 5, column: 16, path: 'uplinks.dsl.probe.timeout', has: 'write 5s (or 5ms)' },
  { name: 'negative duration', yaml: up('    mode: demand\n    connect: pon isp\n    idle: -5m\n'), line: 6, column: 11, path: 'uplinks.dsl.idle', has: 'cannot be negative' },
  { name: 'unknown duration unit', yaml: up('    redial: { backoff: 10x }\n'), line: 4, column: 24, path: 'uplinks.dsl.redial.backoff', has: 'use ms, s, m, h or d' },
  { name: 'zero where a positive duration is needed', yaml: 'hooks:\n  timeout: 0s\n', line: 2, column: 12, path: 'hooks.timeout', has: 'must be longer than 0' },
  { name: 'duration in words', yaml: up('    mode: demand\n    connect: pon isp\n    min_up: 1 minute 30 seconds\n'), line: 6, column: 13, path: 'uplinks.dsl.min_up', has: 'write 1m30s' },
  // unknown keys
  { name: 'unknown top-level key', yaml: 'uplink:\n  dsl: { interface: ppp0 }\n', line: 1, column: 1, path: 'uplink', has: 'unknown key "uplink" — did you mean "uplinks"?' },
  { name: 'unknown uplink key', yaml: up('    intreface: ppp1\n'), line: 4, column: 5, path: 'uplinks.dsl.intreface', has: 'did you mean "interface"?' },
  { name: 'unknown probe key', yaml: up('    probe:\n      intervall: 5s\n'), line: 5, column: 7, path: 'uplinks.dsl.probe.intervall', has: 'unknown key "intervall" — did you mean "interval"?' },
  { name: 'unknown redial key', yaml: up('    connect: pon isp\n    redial: { retrys: 5 }\n'), line: 5, column: 15, path: 'uplinks.dsl.redial.retrys', has: 'did you mean "retries"?' },
  { name: 'unknown kernel key', yaml: 'control:\n  kernel:\n    table_bse: 7300\n', line: 3, column: 5, path: 'control.kernel.table_bse', has: 'did you mean "table_base"?' },
  { name: 'unknown key without a near match lists the allowed keys', yaml: 'lan:\n  - { interface: eth1, zone: lan, colour: red }\n', line: 2, column: 35, path: 'lan[0].colour', has: 'allowed keys: interface, zone' },
  // interface names
  { name: 'interface name too long', yaml: up('').replace('ppp0', 'averyveryverylongname'), line: 3, column: 16, path: 'uplinks.dsl.interface', has: 'longer than 15 characters' },
  { name: 'interface name with /', yaml: up('').replace('ppp0', 'eth0/1'), line: 3, column: 16, path: 'uplinks.dsl.interface', has: 'contains "/"' },
  { name: 'interface name with :', yaml: up('').replace('ppp0', '"eth0:1"'), line: 3, column: 16, path: 'uplinks.dsl.interface', has: 'contains ":"' },
  { name: 'interface name with a space', yaml: up('').replace('ppp0', '"eth 0"'), line: 3, column: 16, path: 'uplinks.dsl.interface', has: 'contains white space' },
  { name: 'empty interface name', yaml: up('').replace('ppp0', '""'), line: 3, column: 16, path: 'uplinks.dsl.interface', has: 'interface name is empty' },
  { name: 'interface name ..', yaml: 'lan:\n  - { interface: "..", zone: lan }\n', line: 2, column: 18, path: 'lan[0].interface', has: 'not a valid interface name' },
  // probe targets
  { name: 'icmp probe target is a host name', yaml: up('    probe: { targets: [198.51.100.1, ping.example.net] }\n'), line: 4, column: 38, path: 'uplinks.dsl.probe.targets[1]', has: 'probes must not depend on DNS' },
  { name: 'tcp probe target is a host name', yaml: up('    probe:\n      method: tcp\n      targets: ["www.example.net:443"]\n'), line: 6, column: 17, path: 'uplinks.dsl.probe.targets[0]', has: 'tcp target "www.example.net:443" is a host name — probes must not depend on DNS' },
  { name: 'tcp probe target without a port', yaml: up('    probe: { method: tcp, targets: [203.0.113.10] }\n'), line: 4, column: 37, path: 'uplinks.dsl.probe.targets[0]', has: 'has no port' },
  { name: 'icmp probe target with a port', yaml: up('    probe: { targets: ["203.0.113.10:80"] }\n'), line: 4, column: 24, path: 'uplinks.dsl.probe.targets[0]', has: 'write just the address: 203.0.113.10' },
  { name: 'http probe target is not a URL', yaml: up('    probe: { method: http, targets: [203.0.113.10] }\n'), line: 4, column: 38, path: 'uplinks.dsl.probe.targets[0]', has: 'not an http(s) URL' },
  { name: 'reliability above the number of targets', yaml: up('    probe: { targets: [198.51.100.1, 203.0.113.10], reliability: 3 }\n'), line: 4, column: 66, path: 'uplinks.dsl.probe.reliability', has: 'reliability 3 is more than the 2 targets' },
  { name: 'reliability 2 with the gateway as the only target', yaml: up('    probe: { reliability: 2 }\n'), line: 4, column: 27, path: 'uplinks.dsl.probe.reliability', has: 'at most 1 here' },
  { name: 'probe timeout not below interval', yaml: up('    probe: { interval: 1s, timeout: 2s }\n'), line: 4, column: 37, path: 'uplinks.dsl.probe.timeout', has: 'timeout 2s is not shorter than interval 1s' },
  { name: 'tcp probe without targets', yaml: up('    probe: { method: tcp }\n'), line: 4, column: 22, path: 'uplinks.dsl.probe.method', has: 'need targets' },
  { name: 'down_after 0', yaml: up('    probe: { down_after: 0 }\n'), line: 4, column: 26, path: 'uplinks.dsl.probe.down_after', has: 'must be at least 1' },
  // addresses
  { name: 'CIDR prefix too long', yaml: up('    address: 192.0.2.10/40\n'), line: 4, column: 14, path: 'uplinks.dsl.address', has: 'prefix length must be 0..32' },
  { name: 'address without a prefix', yaml: up('    address: 192.0.2.10\n'), line: 4, column: 14, path: 'uplinks.dsl.address', has: 'add the prefix length, e.g. 192.0.2.10/24' },
  { name: 'bad CIDR in a forward source list', yaml: 'forwards:\n  - { proto: tcp, port: 22, to: 192.168.2.10, from: [300.1.2.0/24] }\n', line: 2, column: 54, path: 'forwards[0].from[0]', has: '"300.1.2.0" is not an IP address' },
  { name: 'bad gateway address', yaml: up('    gateway: 198.51.100\n'), line: 4, column: 14, path: 'uplinks.dsl.gateway', has: '"198.51.100" is not an IP address' },
  { name: 'IPv4 address as gateway6', yaml: up('    gateway6: 198.51.100.1\n'), line: 4, column: 15, path: 'uplinks.dsl.gateway6', has: 'an IPv6 address is needed here' },
  // uplink semantics
  { name: 'demand mode without connect', yaml: up('    mode: demand\n'), line: 4, column: 11, path: 'uplinks.dsl.mode', has: 'mode demand needs a connect command' },
  { name: 'a demand rule with a typo, with its column', yaml: up('    mode: demand\n    connect: pon isp\ndemand:\n  rules: [ "accept tcp syn 30s", "acept udp" ]\n'), line: 7, column: 34, path: 'demand.rules[1]', has: 'column 1: unknown action "acept"' },
  { name: 'demand with the firewall off', yaml: up('    mode: demand\n    connect: pon isp\nfirewall: { enabled: false }\n'), line: 4, column: 11, path: 'uplinks.dsl.mode', has: 'mode demand needs the firewall' },
  { name: 'proxy interface that is the LAN interface', yaml: up('    mode: demand\n    connect: pon isp\n    proxy_interface: eth1\nlan:\n  - { interface: eth1, zone: lan }\n'), line: 6, column: 22, path: 'uplinks.dsl.proxy_interface', has: 'already an uplink or LAN interface' },
  { name: 'two demand uplinks with the same proxy address', yaml: up('    mode: demand\n    connect: pon isp\n    proxy_address: 169.254.77.9\n  lte:\n    interface: wwan0\n    mode: demand\n    connect: pon lte\n    proxy_address: 169.254.77.9\n'), line: 11, column: 20, path: 'uplinks.lte.proxy_address', has: 'already used by uplink "dsl"' },
  { name: 'idle on an uplink that is not demand', yaml: up('    idle: 5m\n'), line: 4, column: 11, path: 'uplinks.dsl.idle', has: 'idle only applies to mode demand' },
  { name: 'tcp probes on a demand uplink', yaml: up('    mode: demand\n    connect: pon isp\n    probe: { method: tcp, targets: ["192.0.2.1:80"] }\n'), line: 6, column: 22, path: 'uplinks.dsl.probe.method', has: 'cannot carry our fwmark' },
  { name: 'two uplinks with one snat address', yaml: up('    snat: 198.51.100.9\n  lte:\n    interface: wwan0\n    snat: 198.51.100.9\n'), line: 7, column: 11, path: 'uplinks.lte.snat', has: 'already the snat address of uplink "dsl"' },
  { name: 'snat with the firewall off', yaml: up('    snat: 198.51.100.9\nfirewall: { enabled: false }\n'), line: 4, column: 11, path: 'uplinks.dsl.snat', has: 'snat needs the firewall' },
  { name: 'two uplinks on one interface', yaml: up('  dsl2:\n    interface: ppp0\n'), line: 5, column: 16, path: 'uplinks.dsl2.interface', has: 'already used by uplink "dsl"' },
  { name: 'unknown mode', yaml: up('    mode: backpu\n'), line: 4, column: 11, path: 'uplinks.dsl.mode', has: 'did you mean "backup"?' },
  { name: 'missing interface points at the uplink', yaml: 'uplinks:\n  dsl:\n    mode: backup\n', line: 3, column: 5, path: 'uplinks.dsl.interface', has: 'missing required key "interface"' },
  { name: 'bad uplink name', yaml: 'uplinks:\n  Fiber:\n    interface: eth0\n', line: 2, column: 3, path: 'uplinks.Fiber', has: '"Fiber" is not a valid uplink name' },
  // lan and zones
  { name: 'zone wan is reserved', yaml: 'lan:\n  - { interface: eth1, zone: wan }\n', line: 2, column: 30, path: 'lan[0].zone', has: 'zone "wan" is reserved' },
  { name: 'bad zone name', yaml: 'lan:\n  - { interface: eth1, zone: LAN }\n', line: 2, column: 30, path: 'lan[0].zone', has: 'not a valid zone name' },
  { name: 'LAN interface is an uplink', yaml: up('lan:\n  - { interface: ppp0, zone: lan }\n'), line: 5, column: 18, path: 'lan[0].interface', has: 'either an uplink or on the LAN' },
  { name: 'interface name nftables reads as a wildcard', yaml: 'lan:\n  - { interface: "lan*", zone: lan }\n', line: 2, column: 18, path: 'lan[0].interface', has: 'ends with "*"' },
  { name: 'interface name nftables reads as a set', yaml: up('    mode: always\n').replace('interface: ppp0', 'interface: "@wan"'), line: 3, column: 16, path: 'uplinks.dsl.interface', has: 'starts with "@"' },
  // forwards
  { name: 'forwards whose ports overlap', yaml: 'forwards:\n  - { proto: tcp, port: 8080, to: "10.0.0.2:80" }\n  - { proto: udp, port: 8080, to: "10.0.0.2:80" }\n  - { proto: tcp, port: "8000-8090", to: 10.0.0.3 }\n', line: 4, column: 25, path: 'forwards[2].port', has: 'port 8000-8090/tcp overlaps forwards[0]' },
  { name: 'the same port forwarded twice on the same uplink', yaml: 'uplinks:\n  a: { interface: eth0 }\n  b: { interface: eth1 }\nforwards:\n  - { proto: tcp, port: 22, to: 10.0.0.2, uplink: a }\n  - { proto: tcp, port: 22, to: 10.0.0.3, uplink: [b, a] }\n', line: 6, column: 25, path: 'forwards[1].port', has: 'overlaps forwards[0]' },
  { name: 'backwards port range', yaml: 'forwards:\n  - { proto: tcp, port: "8100-8000", to: "192.168.2.10:8000" }\n', line: 2, column: 25, path: 'forwards[0].port', has: 'write "8000-8100"' },
  { name: 'port 0', yaml: 'forwards:\n  - { proto: udp, port: 0, to: "192.168.2.10:53" }\n', line: 2, column: 25, path: 'forwards[0].port', has: 'ports are 1..65535' },
  { name: 'forward target is a host name', yaml: 'forwards:\n  - { proto: tcp, port: 80, to: "web.lan:80" }\n', line: 2, column: 33, path: 'forwards[0].to', has: 'names a host, not an IP address' },
  { name: 'forward protocol', yaml: 'forwards:\n  - { proto: icmp, port: 80, to: "192.168.2.10" }\n', line: 2, column: 14, path: 'forwards[0].proto', has: 'use one of: tcp, udp' },
  // references
  { name: 'forward names an unknown uplink', yaml: up('forwards:\n  - { proto: tcp, port: 80, to: "192.168.2.10:80", uplink: dls }\n'), line: 5, column: 60, path: 'forwards[0].uplink', has: 'unknown uplink "dls" — did you mean "dsl"? configured uplinks: dsl' },
  { name: 'schedule names an unknown uplink', yaml: up('schedule:\n  - { cron: "0 8 * * *", action: up, uplink: lte }\n'), line: 5, column: 46, path: 'schedule[0].uplink', has: 'configured uplinks: dsl' },
  { name: 'announce names an unknown uplink', yaml: up('announce:\n  - { uplink: fibre, command: /usr/local/bin/announce }\n'), line: 5, column: 15, path: 'announce[0].uplink', has: 'unknown uplink "fibre"' },
  { name: 'forward names an unknown zone', yaml: 'forwards:\n  - { proto: tcp, port: 80, to: "192.168.2.10", zone: dmz }\n', line: 2, column: 55, path: 'forwards[0].zone', has: 'unknown zone "dmz"' },
  // YAML itself
  { name: 'duplicate YAML key', yaml: up('    priority: 10\n    priority: 20\n'), line: 5, column: 5, path: 'uplinks.dsl.priority', has: 'duplicate key "priority"' },
  { name: 'YAML syntax error', yaml: up('    probe: { targets: [198.51.100.1 }\n'), line: 4, column: 37, path: 'uplinks.dsl.probe.targets[0]', has: 'end with a ] — close it with ]', count: 2 },
  { name: 'tab indentation', yaml: 'hooks:\n\tdir: /etc/uplinkd/hooks.d\n', line: 2, column: 1, path: '', has: 'indent with spaces' },
  { name: 'top level is a list', yaml: '- uplinks\n- lan\n', line: 1, column: 1, path: '', has: 'must be a map of keys, not a list' },
  // wrong types, negative numbers
  { name: 'priority is a word', yaml: up('    priority: high\n'), line: 4, column: 15, path: 'uplinks.dsl.priority', has: 'expected a number, got "high"' },
  { name: 'uplinks is a list', yaml: 'uplinks: [fiber, dsl]\n', line: 1, column: 10, path: 'uplinks', has: 'expected a map of names, got a list' },
  { name: 'lan is a map', yaml: 'lan: { interface: eth1, zone: lan }\n', line: 1, column: 6, path: 'lan', has: 'expected a list, got a map' },
  { name: 'manage is yes', yaml: 'defaults: { manage: yes }\n', line: 1, column: 21, path: 'defaults.manage', has: 'expected true or false, got "yes"' },
  { name: 'interface is a number', yaml: up('').replace('ppp0', '0'), line: 3, column: 16, path: 'uplinks.dsl.interface', has: 'quote it: "0"' },
  { name: 'negative priority', yaml: up('    priority: -1\n'), line: 4, column: 15, path: 'uplinks.dsl.priority', has: 'must be at least 0' },
  { name: 'negative retries', yaml: up('    connect: pon isp\n    redial:\n      retries: -3\n'), line: 6, column: 16, path: 'uplinks.dsl.redial.retries', has: '-3 is too small' },
  { name: 'fractional priority', yaml: up('    priority: 1.5\n'), line: 4, column: 15, path: 'uplinks.dsl.priority', has: 'expected a whole number, got 1.5' },
  // kernel ranges
  { name: 'table range covers 253..255', yaml: 'control:\n  kernel: { table_base: 200 }\n', line: 2, column: 25, path: 'control.kernel.table_base', has: '253 (default), 254 (main), 255 (local)' },
  { name: 'table range ends on 254', yaml: 'control:\n  kernel:\n    table_base: 250\n    table_count: 5\n', line: 3, column: 17, path: 'control.kernel.table_base', has: 'tables 250..254 include 253 (default), 254 (main)' },
  { name: 'table_base 0', yaml: 'control:\n  kernel: { table_base: 0 }\n', line: 2, column: 25, path: 'control.kernel.table_base', has: 'must be at least 1' },
  { name: 'route protocol named by iproute2', yaml: 'control:\n  kernel: { route_protocol: 186 }\n', line: 2, column: 29, path: 'control.kernel.route_protocol', has: 'iproute2\'s "bgp"' },
  { name: 'rule priorities reach 32766', yaml: 'control:\n  kernel: { rule_priority_base: 32700 }\n', line: 2, column: 33, path: 'control.kernel.rule_priority_base', has: 'reach 32766' },
  { name: 'fwmark outside the mask', yaml: 'control:\n  kernel: { fwmark: "0x1000000" }\n', line: 2, column: 21, path: 'control.kernel.fwmark', has: 'outside fwmark_mask 0xff0000' },
  { name: 'fwmark not a number', yaml: 'control:\n  kernel: { fwmark_mask: "0xZZ" }\n', line: 2, column: 26, path: 'control.kernel.fwmark_mask', has: 'is not a 32-bit fwmark mask' },
  { name: 'more uplinks than tables', yaml: 'control: { kernel: { table_count: 2 } }\nuplinks:\n  a: { interface: eth0 }\n  b: { interface: eth1 }\n', line: 1, column: 35, path: 'control.kernel.table_count', has: 'raise table_count to at least 3' },
  // control, schedule, jobs, notify
  { name: 'relative socket path', yaml: 'control: { socket: uplinkd.sock }\n', line: 1, column: 20, path: 'control.socket', has: 'not an absolute path' },
  { name: 'http listen without a port', yaml: 'control:\n  http: { listen: localhost }\n', line: 2, column: 19, path: 'control.http.listen', has: 'is not host:port' },
  { name: 'force without an uplink', yaml: 'schedule:\n  - { cron: "0 8 * * *", action: force }\n', line: 2, column: 5, path: 'schedule[0].uplink', has: 'action force needs an uplink' },
  { name: 'cron with three fields', yaml: 'schedule:\n  - { cron: "0 8 *", action: unforce }\n', line: 2, column: 13, path: 'schedule[0].cron', has: 'has 3 fields, not 5' },
  { name: 'unknown time zone', yaml: 'timezone: Europe/Springfield\n', line: 1, column: 11, path: 'timezone', has: 'not a known time zone' },
  { name: 'job restart policy', yaml: 'jobs:\n  vpn: { run: openvpn, restart: sometimes }\n', line: 2, column: 33, path: 'jobs.vpn.restart', has: 'use one of: always, on-failure, never' },
  { name: 'notify without a channel', yaml: 'notify:\n  - { events: [failover] }\n', line: 2, column: 5, path: 'notify[0]', has: 'notify needs mail, webhook or command' },
];
