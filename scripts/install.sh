#!/bin/sh
# Steward agent install script (POSIX sh; dash, busybox ash and bash run it).
#
#   curl -fsSL <server>/install.sh | sudo sh -s -- --token <enrollment token> --ca-sha256 sha256:<hex>
#
# Served by the control plane at GET /install.sh (public: it holds no secret; the token is only on
# your command line). What each step does and how to undo it: docs/install.md.
#   1. trusts the control plane: with --ca-sha256 it fetches the CA, checks its key against the pin
#      (openssl) and from then on talks to the control plane only with that CA (curl --cacert)
#   2. downloads the agent package, checks its SHA-256 against the control plane's answer, unpacks
#      it aside and checks every file against the package's SHA256SUMS and manifest.json
#   3. moves it to <prefix>/opt/steward/agent/<version>, points `current` at it (one rename)
#   4. writes <prefix>/etc/steward/agent.yaml (0600)
#   5. starts the agent: a systemd unit, else OpenRC, else sysvinit, else a supervised background
#      process, and says which
# A re-run with the same arguments changes nothing. --uninstall removes everything it wrote.
set -eu

# The control plane serving this script writes its own URL here.
DEFAULT_SERVER=''

usage() {
  cat <<'EOF'
usage: install.sh [--server URL] --token TOKEN [--ca-sha256 sha256:HEX] [options]
       install.sh --uninstall [--prefix DIR]
  --server URL        control plane URL (default: the one this script came from)
  --token TOKEN       enrollment token (`steward enroll create`); needed until the node is enrolled
  --ca-sha256 PIN     pin of the control plane's CA (printed by `steward enroll create`)
  --name NAME         node name (default: chosen by the control plane)
  --label K=V         node label (repeatable)
  --version V         install only if the control plane offers version V
  --prefix DIR        install under DIR instead of / (no root needed; a test or a trial)
  --init KIND         auto (default), systemd, openrc, sysv or background
  --insecure          allow http:// or an unpinned https:// to a non-loopback control plane
  --print-unit        print the systemd unit this would write, and exit
  --uninstall         stop the agent and remove everything this script wrote
EOF
}

say() { printf 'steward-install: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

server=$DEFAULT_SERVER
token=''
pin=''
name=''
labels=''
want_version=''
prefix=''
init=auto
insecure=0
uninstall=0
print_unit=0
while [ $# -gt 0 ]; do
  case $1 in
    --server | --token | --ca-sha256 | --name | --label | --version | --prefix | --init)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in
        --server) server=$2 ;;
        --token) token=$2 ;;
        --ca-sha256) pin=$2 ;;
        --name) name=$2 ;;
        --label) labels="$labels
$2" ;;
        --version) want_version=$2 ;;
        --prefix) prefix=$2 ;;
        --init) init=$2 ;;
      esac
      shift 2
      ;;
    --insecure) insecure=1 && shift ;;
    --uninstall) uninstall=1 && shift ;;
    --print-unit) print_unit=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && die "unknown argument: $1" ;;
  esac
done

case $prefix in
  '' | /*) prefix=${prefix%/} ;;
  *) prefix=$(cd "$prefix" 2>/dev/null && pwd) || die "--prefix $prefix: no such directory" ;;
esac
case $init in auto | systemd | openrc | sysv | background) ;; *) die "--init must be auto, systemd, openrc, sysv or background" ;; esac

# Everything this script writes (and --uninstall removes).
AGENT_DIR=$prefix/opt/steward/agent
CURRENT=$AGENT_DIR/current
CONF_DIR=$prefix/etc/steward
CONF=$CONF_DIR/agent.yaml
STATE_DIR=$prefix/var/lib/steward
DATA_DIR=$STATE_DIR/agent
LOG=$prefix/var/log/steward-agent.log
SUPERVISE=$AGENT_DIR/supervise
PIDFILE=$STATE_DIR/agent-supervisor.pid
UNIT=$prefix/etc/systemd/system/steward-agent.service
INITD=$prefix/etc/init.d/steward-agent
BIN=$CURRENT/bin/steward-agent

systemd_unit() {
  cat <<EOF
# Written by the Steward install script (docs/install.md); removed by install.sh --uninstall.
[Unit]
Description=Steward agent
Documentation=https://github.com/steward/steward/blob/main/docs/install.md
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=$BIN --config $CONF
Restart=always
RestartSec=2
# Services the agent supervises keep running across an agent restart (it re-adopts them), and
# it sets cgroup limits on them: only the agent's own process is stopped, and the cgroup is its.
KillMode=process
Delegate=yes
LimitNOFILE=65536
# Hardening that no module needs to be without. Commands the agent runs inherit these, so the
# stricter options (ProtectSystem, NoNewPrivileges, PrivateTmp…) would break exec, nginx, ftp
# and service installs.
LockPersonality=yes
RestrictRealtime=yes

[Install]
WantedBy=multi-user.target
EOF
}

if [ "$print_unit" = 1 ]; then
  systemd_unit
  exit 0
fi

[ -n "$prefix" ] || [ "$(id -u)" = 0 ] || die "run as root (sudo sh -s -- …), or give --prefix DIR"

# --- the init system ---------------------------------------------------------------------------

pid1=$(cat /proc/1/comm 2>/dev/null || echo unknown)
detect_init() {
  if [ -n "$prefix" ]; then
    # Under a prefix nothing is registered with the machine's init system.
    echo background
  elif [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    echo systemd
  elif [ -d /run/openrc ] && command -v openrc-run >/dev/null 2>&1 && command -v rc-update >/dev/null 2>&1; then
    echo openrc
  elif [ "$pid1" = init ] && [ -d /etc/init.d ]; then
    echo sysv
  else
    echo background
  fi
}
[ "$init" = auto ] && init=$(detect_init)

# --- tools -------------------------------------------------------------------------------------

if command -v sha256sum >/dev/null 2>&1; then
  sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
  sha256_check() { sha256sum -c --quiet "$1" >/dev/null 2>&1 || sha256sum -c -s "$1" >/dev/null 2>&1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256_of() { shasum -a 256 "$1" | cut -d' ' -f1; }
  sha256_check() { shasum -a 256 -c -s "$1" >/dev/null 2>&1; }
else
  die "sha256sum (or shasum) is needed to check the package"
fi

# Replaces $2 with $1 only when they differ; 0 when it changed $2.
changed=0
put_file() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    rm -f "$1"
    return 1
  fi
  mv -f "$1" "$2"
  changed=1
  return 0
}

# --- the background supervisor (and the sysvinit script that calls it) ------------------------

supervise_script() {
  cat <<EOF
#!/bin/sh
# Written by the Steward install script (docs/install.md): keeps the agent running where no
# service manager is used, restarting it 2 s after it exits (as systemd's Restart=always).
#   $SUPERVISE start|stop|status
BIN='$BIN'
CONF='$CONF'
PIDFILE='$PIDFILE'
LOG='$LOG'
EOF
  cat <<'EOF'
running() {
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'supervise run'
}
case ${1:-} in
  run)
    echo $$ >"$PIDFILE"
    child=''
    trap '[ -n "$child" ] && kill "$child" 2>/dev/null; wait; rm -f "$PIDFILE"; exit 0' TERM INT
    while :; do
      "$BIN" --config "$CONF" &
      child=$!
      wait "$child" || true
      child=''
      sleep 2
    done
    ;;
  start)
    running && exit 0
    if command -v setsid >/dev/null 2>&1; then
      setsid sh "$0" run >>"$LOG" 2>&1 </dev/null &
    else
      nohup sh "$0" run >>"$LOG" 2>&1 </dev/null &
    fi
    i=0
    until running; do
      i=$((i + 1))
      [ $i -lt 100 ] || { echo "the agent supervisor did not start; see $LOG" >&2; exit 1; }
      sleep 0.1
    done
    ;;
  stop)
    running || { rm -f "$PIDFILE"; exit 0; }
    kill "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null; do
      i=$((i + 1))
      [ $i -lt 150 ] || { kill -9 "$pid" 2>/dev/null; break; }
      sleep 0.1
    done
    rm -f "$PIDFILE"
    ;;
  restart) sh "$0" stop && sh "$0" start ;;
  status)
    if running; then echo "steward-agent is running (supervisor pid $pid)"; else echo "steward-agent is not running"; exit 3; fi
    ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
EOF
}

sysv_script() {
  cat <<EOF
#!/bin/sh
### BEGIN INIT INFO
# Provides:          steward-agent
# Required-Start:    \$network \$remote_fs
# Required-Stop:     \$network \$remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Steward agent
### END INIT INFO
# Written by the Steward install script (docs/install.md); removed by install.sh --uninstall.
exec sh '$SUPERVISE' "\$@"
EOF
}

openrc_script() {
  cat <<EOF
#!/sbin/openrc-run
# Written by the Steward install script (docs/install.md); removed by install.sh --uninstall.
description="Steward agent"
command='$BIN'
command_args='--config $CONF'
supervisor=supervise-daemon
respawn_delay=2
respawn_max=0
output_log='$LOG'
error_log='$LOG'
depend() {
  need net
}
EOF
}

# --- uninstall ---------------------------------------------------------------------------------

if [ "$uninstall" = 1 ]; then
  if [ -f "$UNIT" ]; then
    if [ -z "$prefix" ] && command -v systemctl >/dev/null 2>&1; then
      systemctl disable --now steward-agent >/dev/null 2>&1 || true
    fi
    rm -f "$UNIT"
    if [ -z "$prefix" ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
    say "removed the systemd unit"
  fi
  if [ -f "$INITD" ]; then
    if [ -z "$prefix" ]; then
      "$INITD" stop >/dev/null 2>&1 || true
      if command -v rc-update >/dev/null 2>&1; then rc-update del steward-agent default >/dev/null 2>&1 || true; fi
      if command -v update-rc.d >/dev/null 2>&1; then update-rc.d -f steward-agent remove >/dev/null 2>&1 || true; fi
      if command -v chkconfig >/dev/null 2>&1; then chkconfig --del steward-agent >/dev/null 2>&1 || true; fi
    fi
    rm -f "$INITD"
    say "removed $INITD"
  fi
  [ -f "$SUPERVISE" ] && sh "$SUPERVISE" stop
  rm -rf "$AGENT_DIR" "$STATE_DIR" "$LOG" "$CONF"
  rmdir "$CONF_DIR" "$prefix/opt/steward" 2>/dev/null || true
  say "uninstalled: removed $AGENT_DIR, $CONF, $STATE_DIR (the node's identity) and $LOG"
  say "the node stays in the control plane's list until removed there (steward nodes rm <node>)"
  exit 0
fi

# --- 1. trust ----------------------------------------------------------------------------------

[ -n "$server" ] || die "--server is needed (the control plane's URL)"
server=${server%/}
case $server in
  https://*) ;;
  http://127.* | http://localhost:* | http://localhost | http://\[::1\]*) ;;
  http://*) [ "$insecure" = 1 ] || die "$server is plain HTTP: the token and the package could be read or changed on the way (give --insecure to accept that)" ;;
  *) die "--server must be an http:// or https:// URL" ;;
esac
command -v curl >/dev/null 2>&1 || die "curl is needed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/steward-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
curl_opts='-fsS --retry 3 --proto =https,http'
if [ -n "$pin" ]; then
  hex=$(printf '%s' "${pin#sha256:}" | tr 'A-F' 'a-f')
  case $hex in *[!0-9a-f]*) die "--ca-sha256 must be sha256:<64 hex digits>" ;; esac
  [ ${#hex} -eq 64 ] || die "--ca-sha256 must be sha256:<64 hex digits>"
  case $server in https://*) ;; *) die "--ca-sha256 needs an https:// server" ;; esac
  command -v openssl >/dev/null 2>&1 || die "openssl is needed to check the CA against --ca-sha256"
  # The CA is public; it is fetched unverified (-k) and trusted only if its key has the pin.
  # shellcheck disable=SC2086
  curl $curl_opts -k -o "$tmp/ca.pem" "$server/install/ca.pem" || die "could not fetch the CA from $server"
  got=$(openssl x509 -in "$tmp/ca.pem" -pubkey -noout | openssl pkey -pubin -outform DER | sha256_of -) || die "could not read the CA from $server"
  [ "$got" = "$hex" ] || die "the control plane's CA has the pin sha256:$got, not $pin: refusing to trust it"
  curl_opts="$curl_opts --cacert $tmp/ca.pem"
elif [ "$insecure" = 1 ]; then
  curl_opts="$curl_opts -k"
fi
fetch() {
  # shellcheck disable=SC2086
  curl $curl_opts -o "$2" "$server$1" || die "could not fetch $server$1"
}

# --- 2. the package ----------------------------------------------------------------------------

case $(uname -m) in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  armv7l | armv7*) arch=arm ;;
  *) die "no agent package for $(uname -m)" ;;
esac
[ "$(uname -s)" = Linux ] || die "the agent package is for Linux"

fetch /install/package.json "$tmp/package.json"
# package.json is flat JSON written by the control plane; the entry of this arch is one object.
json_field() { sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p" | head -n 1; }
version=$(tr -d '\n' <"$tmp/package.json" | sed 's/"packages".*//' | json_field version)
entry=$(tr -d '\n' <"$tmp/package.json" | sed -n "s/.*\"$arch\" *: *{\([^}]*\)}.*/\1/p")
[ -n "$version" ] || die "$server/install/package.json does not name a version"
[ -n "$entry" ] || die "the control plane has no agent package for linux-$arch"
file=$(printf '%s' "$entry" | json_field file)
sha=$(printf '%s' "$entry" | json_field sha256)
case $file in steward-agent-*.tar.gz) ;; *) die "unexpected package name: $file" ;; esac
case $version in *[!A-Za-z0-9.+-]*) die "unexpected version: $version" ;; esac
[ -z "$want_version" ] || [ "$want_version" = "$version" ] || die "the control plane offers version $version, not $want_version"

dest=$AGENT_DIR/$version
if [ -f "$dest/.package-sha256" ] && [ "$(cat "$dest/.package-sha256")" = "$sha" ] && (cd "$dest" && sha256_check SHA256SUMS); then
  say "agent $version is already unpacked in $dest"
  fresh=0
else
  fetch "/install/$file" "$tmp/$file"
  got=$(sha256_of "$tmp/$file")
  [ "$got" = "$sha" ] || die "the package's SHA-256 is $got, not $sha as the control plane said: refusing it (nothing was installed)"
  mkdir "$tmp/unpacked"
  tar -xzf "$tmp/$file" -C "$tmp/unpacked" || die "could not unpack $file"
  (cd "$tmp/unpacked" && sha256_check SHA256SUMS) || die "a file of the package does not match its SHA256SUMS: refusing it (nothing was installed)"
  # Every file is listed, and listed alike in manifest.json; the manifest names this version.
  (cd "$tmp/unpacked" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | sort) >"$tmp/files"
  cut -c67- "$tmp/unpacked/SHA256SUMS" | sort >"$tmp/listed"
  cmp -s "$tmp/files" "$tmp/listed" || die "the package holds files its SHA256SUMS does not list: refusing it (nothing was installed)"
  while read -r h f; do
    [ "$f" = manifest.json ] || grep -qF "\"$f\": \"$h\"" "$tmp/unpacked/manifest.json" || die "$f: SHA256SUMS and manifest.json disagree: refusing the package"
  done <"$tmp/unpacked/SHA256SUMS"
  [ "$(json_field version <"$tmp/unpacked/manifest.json")" = "$version" ] || die "the package's manifest is not of version $version: refusing it"
  printf '%s\n' "$sha" >"$tmp/unpacked/.package-sha256"
  fresh=1
fi

# --- 3. unpack into place ----------------------------------------------------------------------

mkdir -p "$AGENT_DIR" "$CONF_DIR" "$DATA_DIR" "$(dirname "$LOG")"
chmod 0700 "$STATE_DIR" "$DATA_DIR"
if [ "$fresh" = 1 ]; then
  rm -rf "$dest.new"
  mv "$tmp/unpacked" "$dest.new"
  rm -rf "$dest"
  mv "$dest.new" "$dest"
  changed=1
  say "unpacked agent $version into $dest"
fi
if [ "$(readlink "$CURRENT" 2>/dev/null)" != "$version" ]; then
  # A new link beside the old one, renamed over it: `current` is never missing.
  ln -sfn "$version" "$CURRENT.new"
  mv -Tf "$CURRENT.new" "$CURRENT" 2>/dev/null || { rm -f "$CURRENT" && mv -f "$CURRENT.new" "$CURRENT"; }
  changed=1
  say "$CURRENT -> $version"
fi

# --- 4. the agent's configuration --------------------------------------------------------------

q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }
(
  umask 077
  {
    echo "# Written by the Steward install script (docs/install.md); removed by install.sh --uninstall."
    echo "servers: [$(q "$server")]"
    [ -z "$token" ] || echo "enrollToken: $(q "$token")"
    [ -z "$pin" ] || echo "caSha256: $(q "sha256:$hex")"
    [ "$insecure" = 0 ] || echo "insecure: true"
    [ -z "$name" ] || echo "name: $(q "$name")"
    echo "dataDir: $(q "$DATA_DIR")"
    if [ -n "$labels" ]; then
      echo "labels:"
      printf '%s\n' "$labels" | while IFS= read -r l; do
        [ -n "$l" ] || continue
        case $l in *=*) ;; *) exit 1 ;; esac
        echo "  $(q "${l%%=*}"): $(q "${l#*=}")"
      done
    fi
  } >"$tmp/agent.yaml"
) || die "--label must be key=value"
if put_file "$tmp/agent.yaml" "$CONF"; then say "wrote $CONF (0600)"; fi
chmod 0600 "$CONF"

# --- 5. start it -------------------------------------------------------------------------------

service_file() {
  # $1: the text's generator, $2: where, $3: mode
  "$1" >"$tmp/service"
  chmod "$3" "$tmp/service"
  mkdir -p "$(dirname "$2")"
  put_file "$tmp/service" "$2" && say "wrote $2"
  return 0
}

case $init in
  systemd)
    before=$changed
    service_file systemd_unit "$UNIT" 0644
    if [ -n "$prefix" ]; then
      say "systemd: wrote $UNIT under --prefix; not registered with systemd"
    else
      [ "$changed" = "$before" ] || systemctl daemon-reload
      systemctl is-enabled --quiet steward-agent 2>/dev/null || systemctl enable --quiet steward-agent
      if [ "$changed" = 1 ]; then systemctl restart steward-agent; else systemctl start steward-agent; fi
      say "started with systemd (systemctl status steward-agent; journalctl -u steward-agent)"
    fi
    ;;
  openrc)
    service_file openrc_script "$INITD" 0755
    rc-update show default 2>/dev/null | grep -q steward-agent || rc-update add steward-agent default >/dev/null
    if [ "$changed" = 1 ]; then rc-service steward-agent restart; else rc-service steward-agent status >/dev/null 2>&1 || rc-service steward-agent start; fi
    say "started with OpenRC (rc-service steward-agent status; log $LOG)"
    ;;
  sysv | background)
    service_file supervise_script "$SUPERVISE" 0755
    if [ "$init" = sysv ]; then
      service_file sysv_script "$INITD" 0755
      if command -v update-rc.d >/dev/null 2>&1; then
        update-rc.d steward-agent defaults >/dev/null 2>&1 || true
      elif command -v chkconfig >/dev/null 2>&1; then
        chkconfig --add steward-agent >/dev/null 2>&1 || true
      fi
    fi
    if [ "$changed" = 1 ]; then sh "$SUPERVISE" restart; else sh "$SUPERVISE" start; fi
    if [ "$init" = sysv ]; then
      say "started with sysvinit ($INITD status; log $LOG)"
    else
      say "no systemd, OpenRC or sysvinit here (PID 1 is $pid1): started as a supervised background process ($SUPERVISE status; log $LOG); it does not start again after a reboot"
    fi
    ;;
esac
if [ "$changed" = 0 ]; then say "nothing changed: agent $version was already installed and running"; else say "installed agent $version"; fi
