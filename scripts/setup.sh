#!/usr/bin/env bash
# Installs what uplinkd needs on Debian (12 or 13) and builds it. Idempotent; run as root.
# --test: also what only the tests need (Debian's chromium for the dashboard's browser test,
# about 350 MB; not for a demo or a gateway).
set -euo pipefail
cd "$(dirname "$0")/.."

for_tests=false
for arg in "$@"; do
  case "$arg" in
    --test) for_tests=true ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

need_pkgs=()
command -v ip >/dev/null || need_pkgs+=(iproute2)
command -v nft >/dev/null || need_pkgs+=(nftables)
command -v ping >/dev/null || need_pkgs+=(iputils-ping)
command -v tcpdump >/dev/null || need_pkgs+=(tcpdump)
command -v sysctl >/dev/null || need_pkgs+=(procps)         # the lab sets namespace sysctls
command -v unshare >/dev/null || need_pkgs+=(util-linux)    # tests hide /etc/protocols in a mount namespace
command -v mount >/dev/null || need_pkgs+=(mount)
command -v busybox >/dev/null || need_pkgs+=(busybox)       # udhcpc, the DHCP client of `address: dhcp` uplinks
# The lab's third-party peers: ISPs' DHCP servers and router advertisements, the admin's own
# DHCP client, and conntrack to read the connection table.
command -v dnsmasq >/dev/null || need_pkgs+=(dnsmasq-base)
command -v radvd >/dev/null || need_pkgs+=(radvd)
command -v dhclient >/dev/null || need_pkgs+=(isc-dhcp-client)
command -v conntrack >/dev/null || need_pkgs+=(conntrack)
# The lab's DNS server for RFC 2136 updates, and its client for checks.
command -v knotd >/dev/null || need_pkgs+=(knot)
command -v kdig >/dev/null || need_pkgs+=(knot-dnsutils)
# Tests only: playwright-core drives Debian's chromium (test/lab/dashboard.test.ts); no browser download.
# CI runs the README's plain test command: CI=true counts as --test.
if [ "${CI:-}" = "true" ]; then for_tests=true; fi
if [ "$for_tests" = true ] && [ ! -x /usr/bin/chromium ]; then need_pkgs+=(chromium); fi
if [ "${CI:-}" = "true" ] || [ ${#need_pkgs[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if [ ${#need_pkgs[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  fi
fi

node -e 'const [M]=process.versions.node.split(".");if(+M<20){console.error("uplinkd needs Node >= 20, found "+process.version);process.exit(1)}'
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
