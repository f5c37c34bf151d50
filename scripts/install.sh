#!/usr/bin/env bash
# Installs the built uplinkd of this checkout (run `bash scripts/setup.sh` first), as root:
#
#   /usr/local/lib/uplinkd/             dist/src, web/ (the dashboard), package.json,
#                                       package-lock.json and the production node_modules
#                                       (copied, then `npm prune --omit=dev` offline: no
#                                       network needed)
#   /usr/local/bin/uplink, uplinkd      sh wrappers that exec node on that copy
#   /etc/systemd/system/uplinkd.service packaging/uplinkd.service
#   /usr/local/share/man/man1/uplink.1, man8/uplinkd.8
#   /etc/uplinkd/uplinkd.yaml           a safe example (no uplinks, manage: false), only if
#                                       there is no config yet; else uplinkd.yaml.example
#
#   bash scripts/install.sh              install or upgrade (idempotent)
#   bash scripts/install.sh --uninstall  remove what it installed, nothing else
#   DESTDIR=/tmp/stage bash scripts/install.sh   stage into another root (packaging, tests)
#
# Every file and every directory it creates goes into a manifest,
# /usr/local/lib/uplinkd/.installed; --uninstall removes exactly those files, then those
# directories if they are empty. The config is removed only while it is still the untouched
# example (its checksum at install time is in the manifest). A file it would install over
# that it did not install itself (another uplink in /usr/local/bin, say) stops it before it
# changes anything. Installing the same build again leaves the library copy as it is (its
# .fingerprint says what it was made from and what it holds); a changed build or a damaged
# copy is built afresh.
set -euo pipefail
umask 022
# DESTDIR as the caller named it: a relative one is relative to where the script was run.
D=${DESTDIR:-}
if [ -n "$D" ]; then
  mkdir -p -- "$D"
  D=$(cd -- "$D" && pwd)
fi
D=${D%/}
cd "$(dirname "$0")/.."
SRC=$PWD
LIB=/usr/local/lib/uplinkd
MANIFEST=$LIB/.installed
CONFIG=/etc/uplinkd/uplinkd.yaml
UNIT=/etc/systemd/system/uplinkd.service

die() {
  echo "install.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: [DESTDIR=DIR] bash scripts/install.sh [--uninstall]" >&2
  exit 2
}

mode=install
case $# in
  0) ;;
  1) case $1 in
       --uninstall) mode=uninstall ;;
       -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
       *) usage ;;
     esac ;;
  *) usage ;;
esac

if [ -z "$D" ] && [ "$(id -u)" -ne 0 ]; then
  die "run it as root (or stage it with DESTDIR=DIR)"
fi
if [ -n "$D" ] && [ ! -d "$D" ]; then
  die "DESTDIR $D is not a directory"
fi

# systemd is this machine's init and it is the machine we install to (not a staging root).
systemd_here() { [ -z "$D" ] && [ -d /run/systemd/system ]; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# Paths on stdin, one a line → the same under DESTDIR, NUL-terminated (for xargs -0).
with_destdir() { while IFS= read -r p; do printf '%s\0' "$D$p"; done; }

# The manifest, one entry a line, paths as on the installed system (without DESTDIR):
#   d PATH        a directory it created
#   f PATH        a file or symlink it installed
#   c SHA PATH    the example it installed as the config, with its sha256 then
# Paths never contain a newline (refused at install).

# ---------------------------------------------------------------------------- uninstall
if [ "$mode" = uninstall ]; then
  [ -f "$D$MANIFEST" ] || die "nothing to uninstall: no manifest at $D$MANIFEST"
  if systemd_here && { systemctl is-active --quiet uplinkd 2>/dev/null ||
    systemctl is-enabled --quiet uplinkd 2>/dev/null; }; then
    die "uplinkd.service is still active or enabled: run \`systemctl disable --now uplinkd\` first"
  fi
  dirs=()
  : >"$D$MANIFEST.files"
  while IFS= read -r line; do
    kind=${line%% *}
    rest=${line#* }
    case $kind in
      f) printf '%s\0' "$D$rest" >>"$D$MANIFEST.files" ;;
      c)
        sum=${rest%% *}
        path=${rest#* }
        if [ -f "$D$path" ] && [ ! -L "$D$path" ]; then
          if [ "$(sha "$D$path")" = "$sum" ]; then
            rm -f -- "$D$path"
          else
            echo "kept $path: it changed since it was installed (your config)"
          fi
        fi ;;
      d) dirs+=("$rest") ;;
      '#' | '') ;;
      *) die "unreadable manifest line: $line" ;;
    esac
  done <"$D$MANIFEST"
  # Thousands of files: one rm for all (a missing one is no error).
  xargs -0 -r rm -f -- <"$D$MANIFEST.files"
  rm -f -- "$D$MANIFEST.files" "$D$MANIFEST"
  # Children sort after their parents; reversed, each directory comes before its parent,
  # and rmdir takes them in that order. Only empty ones go.
  if [ ${#dirs[@]} -gt 0 ]; then
    printf '%s\n' "${dirs[@]}" | LC_ALL=C sort -r -u | with_destdir |
      xargs -0 -r rmdir --ignore-fail-on-non-empty --
    for dir in "${dirs[@]}"; do
      if [ -d "$D$dir" ]; then echo "kept $dir: not empty"; fi
    done
  fi
  if systemd_here; then systemctl daemon-reload; fi
  echo "uplinkd uninstalled${D:+ from $D}"
  exit 0
fi

# ---------------------------------------------------------------------------- install
if [ ! -f dist/src/cli/main.js ] || [ ! -f dist/src/daemon/main.js ] || [ ! -d node_modules ]; then
  die "no build here (dist/ or node_modules/ missing): run \`bash scripts/setup.sh\` first"
fi
NODE=${NODE:-$(command -v node || true)}
[ -n "$NODE" ] || die "node is not installed (Node >= 20; scripts/setup.sh says how)"
"$NODE" -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' ||
  die "uplinkd needs Node >= 20, $NODE is $("$NODE" --version)"
command -v npm >/dev/null || die "npm is needed to prune node_modules (apt-get install npm)"

# What an earlier run of this script installed: it may replace those, and only those.
declare -A ours=()
created=()      # directories it created, earlier runs included
files=()        # files it installed outside the library copy, earlier runs' included
config_entry=   # the manifest's `c` line
old_config_sum=
if [ -e "$D$LIB" ] || [ -L "$D$LIB" ]; then
  if [ ! -d "$D$LIB" ] || [ -L "$D$LIB" ] || [ ! -f "$D$MANIFEST" ]; then
    die "$D$LIB exists but this script did not install it (no manifest): move it away first"
  fi
  while IFS= read -r line; do
    kind=${line%% *}
    rest=${line#* }
    case $kind in
      f)
        ours[$rest]=1
        case $rest in "$LIB"/*) ;; *) files+=("$rest") ;; esac ;;
      c) old_config_sum=${rest%% *}; ours[${rest#* }]=1; config_entry=$line ;;
      d) case $rest in "$LIB"/*) ;; *) created+=("$rest") ;; esac ;; # the copy is listed afresh
    esac
  done <"$D$MANIFEST"
fi

# Refuse before changing anything: a file in the way that is not ours stays as it is.
mine_or_free() {
  if { [ -e "$D$1" ] || [ -L "$D$1" ]; } && [ -z "${ours[$1]:-}" ]; then
    die "$D$1 exists and was not installed by this script: move it away first"
  fi
}
for f in /usr/local/bin/uplink /usr/local/bin/uplinkd "$UNIT" \
  /usr/local/share/man/man1/uplink.1 /usr/local/share/man/man8/uplinkd.8; do
  mine_or_free "$f"
done
if [ -e "$D$CONFIG" ] || [ -L "$D$CONFIG" ]; then
  # Unless it is the example an earlier run put there, the example goes beside it.
  if [ -z "$old_config_sum" ] || [ ! -f "$D$CONFIG" ] || [ -L "$D$CONFIG" ]; then mine_or_free "$CONFIG.example"; fi
fi

# The example config; checked by the build it comes with before it goes anywhere.
tmp=$(mktemp -d)
stage=$D/usr/local/lib/.uplinkd.staging
old=$D/usr/local/lib/.uplinkd.old
this_run=()     # directories this run created
recorded=       # set once a manifest lists them
cleanup() {
  rm -rf -- "$tmp" "$stage"
  # A run that failed before any manifest existed takes its empty directories back.
  if [ "$1" -ne 0 ] && [ -z "$recorded" ] && [ ${#this_run[@]} -gt 0 ]; then
    printf '%s\n' "${this_run[@]}" | LC_ALL=C sort -r | with_destdir |
      xargs -0 -r rmdir --ignore-fail-on-non-empty -- 2>/dev/null || true
  fi
}
trap 'cleanup $?' EXIT
cat >"$tmp/uplinkd.yaml" <<'YAML'
# uplinkd's config (uplinkd(8)); installed by scripts/install.sh as a safe start.
#
# As it stands it changes nothing on this machine: there are no uplinks, and
# `manage: false` leaves every interface the config does not name alone.
# Add uplinks, check the file and reload:
#
#   uplink check /etc/uplinkd/uplinkd.yaml && systemctl reload uplinkd
#
# `uplink schema` prints every key (JSON Schema). For example:
#
# uplinks:
#   fiber:
#     interface: eth0
#     mode: always                     # always | backup | demand | manual
#     priority: 10                     # lower wins
#     probe: { targets: [198.51.100.1, 203.0.113.10] }
#   lte:
#     interface: ppp0
#     mode: backup
#     priority: 20
#     connect: pppd call lte nodetach  # supervised by uplinkd
#
# Passwords and keys go in a separate secrets file (root:root, mode 0600), named here
# with `secrets: /etc/uplinkd/secrets.yaml`, never in this file.
defaults:
  manage: false
uplinks: {}
YAML
"$NODE" dist/src/cli/main.js check "$tmp/uplinkd.yaml" >/dev/null ||
  die "the example config does not validate with this build (a bug in install.sh)"

# Directories: each one missing on the way down is created and recorded.
ensure_dir() {
  local path=$1 sofar='' part
  local IFS=/
  for part in ${path#/}; do
    sofar=$sofar/$part
    if [ -d "$D$sofar" ]; then
      continue # a symlink to a directory is fine too
    elif [ -e "$D$sofar" ] || [ -L "$D$sofar" ]; then
      die "$D$sofar is in the way (not a directory)"
    fi
    mkdir -- "$D$sofar"
    created+=("$sofar")
    this_run+=("$sofar")
  done
}

write_manifest() {
  local m=$D$MANIFEST
  {
    echo "# uplinkd install manifest (scripts/install.sh): what --uninstall removes"
    printf 'd %s\n' "${created[@]}" | LC_ALL=C sort -u
    (cd "$D$LIB" && find . -mindepth 1 -path ./.installed -prune -o -path ./.installed.new -prune -o \
      \( -type d -printf "d $LIB/%P\n" \) -o -printf "f $LIB/%P\n") | LC_ALL=C sort
    if [ ${#files[@]} -gt 0 ]; then
      for f in "${files[@]}"; do
        if [ -e "$D$f" ] || [ -L "$D$f" ]; then echo "f $f"; fi
      done | LC_ALL=C sort -u
    fi
    [ -z "$config_entry" ] || echo "$config_entry"
  } >"$m.new"
  mv -f -- "$m.new" "$m"
  recorded=1
}

# The production packages, as npm sees them here (offline): the top-most directory of each
# (a nested one comes with its parent). Copying only these is a third of the files of all of
# node_modules, and creating files is what an install spends its time on; `npm prune
# --omit=dev` in the copy then makes sure nothing else is left.
npm ls --omit=dev --all --parseable --offline >"$tmp/prod" 2>"$tmp/npm-ls.err" ||
  die "node_modules does not match package.json (npm ls: $(head -c 300 "$tmp/npm-ls.err")): run \`bash scripts/setup.sh\`"
declare -A top=()
packages=()
while IFS= read -r dir; do
  case $dir in "$SRC"/node_modules/*) ;; *) continue ;; esac
  rel=${dir#"$SRC"/} p=${dir#"$SRC"/} inside=
  while [[ $p == */node_modules/* ]]; do
    p=${p%/node_modules/*}
    [ -z "${top[$p]:-}" ] || inside=1
  done
  [ -n "$inside" ] || { top[$rel]=1; packages+=("$rel"); }
done < <(LC_ALL=C sort "$tmp/prod")
# The bin links and npm's own record of the tree too: without them npm takes the packages
# with a bin for unfinished and wants the registry.
extras=()
for x in node_modules/.bin node_modules/.package-lock.json; do [ ! -e "$x" ] || extras+=("$x"); done

# digest DIR PATH...: names, types, modes, link targets and contents of the PATHs below DIR.
digest() {
  local dir=$1
  shift
  (
    cd "$dir"
    find "$@" \( -path ./.installed -o -path ./.installed.new -o -path ./.fingerprint \) -prune -o \
      -printf '%y %m %p %l\n' | LC_ALL=C sort
    find "$@" \( -path ./.installed -o -path ./.installed.new -o -path ./.fingerprint \) -prune -o \
      -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  ) | sha256sum | cut -d' ' -f1
}
# What the copy is made of, and how (this script): the same again means the same copy.
# web/: the dashboard's files, which the daemon reads from beside dist/ (when this build has them).
web=()
[ ! -d web ] || web=(web)
inputs=(package.json package-lock.json dist/src "${web[@]}" "${extras[@]}" "${packages[@]}")
source_sum=$({ sha256sum scripts/install.sh; digest "$SRC" "${inputs[@]}"; } | sha256sum | cut -d' ' -f1)

# The library copy, built beside the old one and swapped in, so that a running uplinkd
# never finds a half-copied tree (it loads its workers' files as it needs them). A copy of
# the same build that nobody changed since is left as it is.
ensure_dir /usr/local/lib
if [ -f "$D$LIB/.fingerprint" ] && [ "$(cat "$D$LIB/.fingerprint")" = "source $source_sum
tree $(digest "$D$LIB" .)" ]; then
  echo "$LIB: the same build, left as it is"
  lib_changed=
else
  lib_changed=1
  rm -rf -- "$stage" "$old"
  mkdir -- "$stage" "$stage/dist" "$stage/node_modules"
  cp -R --no-preserve=ownership dist/src "$stage/dist/"
  find "$stage/dist" -name '*.map' -delete # they point at TypeScript sources not installed
  cp --no-preserve=ownership package.json package-lock.json "$stage/"
  [ ${#web[@]} -eq 0 ] || cp -R --no-preserve=ownership web "$stage/"
  for rel in "${extras[@]}" "${packages[@]}"; do
    mkdir -p -- "$stage/${rel%/*}"
    cp -a --no-preserve=ownership -- "$rel" "$stage/$rel"
  done
  (cd "$stage" && npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund \
    --loglevel=error --logs-max=0 --cache="$tmp/npm-cache" >/dev/null) ||
    die "npm prune failed in $stage"
  find "$stage/node_modules/.bin" -xtype l -delete 2>/dev/null || true # dev packages' bins
  find "$stage" -depth -mindepth 1 -type d -empty -delete              # scopes that were all dev
  chmod -R u+rwX,go+rX,go-w "$stage"
  if find "$stage" -name '*
*' | grep -q .; then die "a file name with a newline in node_modules: cannot record it"; fi
  printf 'source %s\ntree %s\n' "$source_sum" "$(digest "$stage" .)" >"$stage/.fingerprint"
  chmod 0644 "$stage/.fingerprint"
  if [ -f "$D$MANIFEST" ]; then cp -- "$D$MANIFEST" "$stage/.installed"; fi
  if [ -d "$D$LIB" ]; then mv -- "$D$LIB" "$old"; else created+=("$LIB"); fi
  mv -- "$stage" "$D$LIB"
  rm -rf -- "$old"
fi
write_manifest # from here on an interrupted run can still be uninstalled

put() { # put MODE SOURCE PATH
  ensure_dir "$(dirname "$3")"
  install -m "$1" -- "$2" "$D$3"
  files+=("$3")
}

for name in uplink uplinkd; do
  main=cli
  [ $name = uplinkd ] && main=daemon
  cat >"$tmp/$name" <<EOF
#!/bin/sh
# $name, installed by uplinkd's scripts/install.sh: the copy in $LIB.
# node by its absolute path: systemd's PATH has no nvm or /opt directories. exec: the
# daemon keeps this pid, the one systemd watches (Type=notify, NotifyAccess=main).
exec "$NODE" "$LIB/dist/src/$main/main.js" "\$@"
EOF
  put 0755 "$tmp/$name" /usr/local/bin/$name
done
put 0644 packaging/uplinkd.service "$UNIT"
put 0644 man/uplink.1 /usr/local/share/man/man1/uplink.1
put 0644 man/uplinkd.8 /usr/local/share/man/man8/uplinkd.8

# The config: never over one that is not ours; ours is refreshed only while untouched.
ensure_dir /etc/uplinkd
new_sum=$(sha "$tmp/uplinkd.yaml")
if [ -n "$old_config_sum" ] && [ -f "$D$CONFIG" ] && [ ! -L "$D$CONFIG" ]; then
  if [ "$(sha "$D$CONFIG")" = "$old_config_sum" ]; then
    install -m 0644 -- "$tmp/uplinkd.yaml" "$D$CONFIG"
    config_entry="c $new_sum $CONFIG"
  else
    config_entry="c $old_config_sum $CONFIG"   # edited since: the admin's now, kept on uninstall
  fi
elif [ -e "$D$CONFIG" ] || [ -L "$D$CONFIG" ]; then
  config_entry=
  put 0644 "$tmp/uplinkd.yaml" "$CONFIG.example"
else
  install -m 0644 -- "$tmp/uplinkd.yaml" "$D$CONFIG"
  config_entry="c $new_sum $CONFIG"
fi
# An .example of an earlier run that is no longer needed goes (it was ours).
if [ -n "$config_entry" ] && [ -n "${ours[$CONFIG.example]:-}" ]; then rm -f -- "$D$CONFIG.example"; fi
write_manifest

if [ -n "$D" ]; then
  echo "uplinkd staged into $D"
  exit 0
fi
if systemd_here; then
  systemctl daemon-reload
  if [ -n "$lib_changed" ] && systemctl is-active --quiet uplinkd; then
    echo "uplinkd is running the old version: \`systemctl restart uplinkd\` (links and jobs stay up)"
  fi
fi
cat <<EOF
uplinkd $("$NODE" -p 'require("./package.json").version') installed in $LIB.
Next:
  1. edit $CONFIG (uplinkd(8), \`uplink schema\`) and check it: uplink check $CONFIG
  2. start it now and at boot: systemctl enable --now uplinkd
  3. watch it: uplink status; journalctl -u uplinkd -f
Remove it again with: bash scripts/install.sh --uninstall
EOF
