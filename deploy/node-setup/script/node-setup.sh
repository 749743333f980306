#!/bin/sh
# Installs, loads and configures ipt_NETFLOW on this node, and points the iptables rules at it.
# Idempotent: run it as often as you like (the node-setup DaemonSet re-runs it every few minutes,
# so a firewall reload that flushes the rules is repaired; Deckhouse's bashible re-runs it too).
# It runs in the host's namespaces (nsenter from the DaemonSet, or directly on the host).
#
# Settings (environment, or the file NETFLOW_ENV_FILE, default /etc/netflow-k8s/node-setup.env):
#   NETFLOW_DESTINATION     collector IP:PORT[,IP:PORT...]  (required)
#   NETFLOW_INTERFACES      pod-side interfaces, iptables syntax, space-separated (default "cni0 cali+ lxc+")
#   NETFLOW_ENGINE_ID       observation domain id; default: derived from the node name (CRC32, 31 bits)
#   NETFLOW_NODE_NAME       node name for the engine id (default: hostname)
#   NETFLOW_PROTOCOL        9 (NetFlow v9, default) or 10 (IPFIX)
#   NETFLOW_ACTIVE_TIMEOUT  seconds a long flow waits before it is reported (default 60; module default 1800)
#   NETFLOW_INACTIVE_TIMEOUT seconds of silence that end a flow (default 15)
#   NETFLOW_REFRESH_RATE    resend templates every N packets (default 20)
#   NETFLOW_TIMEOUT_RATE    resend templates every N minutes (default 1; module default 30)
#   NETFLOW_IPV6            "true" to add the same rules with ip6tables (default false)
#   NETFLOW_INSTALL         "auto" (default): apt-get install iptables-netflow-dkms and the running
#                           kernel's headers when the module is missing; "never": fail instead
#   NETFLOW_RMEM_MAX        raise net.core.rmem_max to at least this (default 16777216; 0 = leave it)
set -eu

# NETFLOW_HOST_ROOT prefixes the host paths this script reads and writes (the tests use a temp dir).
R="${NETFLOW_HOST_ROOT:-}"
env_file="${NETFLOW_ENV_FILE:-$R/etc/netflow-k8s/node-setup.env}"
# shellcheck disable=SC1090
if [ -r "$env_file" ]; then . "$env_file"; fi

DEST="${NETFLOW_DESTINATION:-}"
IFACES="${NETFLOW_INTERFACES:-cni0 cali+ lxc+}"
NODE="${NETFLOW_NODE_NAME:-$(hostname)}"
PROTOCOL="${NETFLOW_PROTOCOL:-9}"
ACTIVE="${NETFLOW_ACTIVE_TIMEOUT:-60}"
INACTIVE="${NETFLOW_INACTIVE_TIMEOUT:-15}"
REFRESH="${NETFLOW_REFRESH_RATE:-20}"
TRATE="${NETFLOW_TIMEOUT_RATE:-1}"
IPV6="${NETFLOW_IPV6:-false}"
INSTALL="${NETFLOW_INSTALL:-auto}"
RMEM="${NETFLOW_RMEM_MAX:-16777216}"
CHAIN=NETFLOW-K8S

log() { echo "netflow-node-setup: $*"; }
die() { log "error: $*" >&2; exit 1; }

[ -n "$DEST" ] || die "NETFLOW_DESTINATION is not set (the collector's IP:PORT)"
case "$DEST" in *'$('*) die "NETFLOW_DESTINATION=$DEST was not expanded";; esac
case "$PROTOCOL" in 9|10) ;; *) die "NETFLOW_PROTOCOL must be 9 or 10 (v5 carries no IPv6 and no templates)";; esac

# A stable, per-node observation domain: ipt-netflow's templates are numbered from 256 on every
# node, and the collector keys them by (exporter address, domain, template id). 31 bits because the
# module parameter is a signed int; 0 is avoided because it is every unconfigured node's id.
if [ -n "${NETFLOW_ENGINE_ID:-}" ]; then
  ENGINE_ID="$NETFLOW_ENGINE_ID"
else
  crc=$(printf '%s' "$NODE" | cksum | cut -d' ' -f1)
  ENGINE_ID=$(( crc % 2147483647 + 1 ))
fi

if ! modinfo ipt_NETFLOW >/dev/null 2>&1; then
  [ "$INSTALL" = auto ] || die "the ipt_NETFLOW module is not installed on $NODE and NETFLOW_INSTALL=$INSTALL"
  command -v apt-get >/dev/null 2>&1 || die "ipt_NETFLOW is missing and this host has no apt-get: install ipt-netflow (DKMS) with the host's package manager or image"
  log "installing iptables-netflow-dkms for kernel $(uname -r)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends dkms "linux-headers-$(uname -r)" iptables-netflow-dkms
  modinfo ipt_NETFLOW >/dev/null 2>&1 || die "iptables-netflow-dkms installed but no ipt_NETFLOW module was built for $(uname -r)"
fi

# Module options for the next load (boot); the running module is set through sysctl below.
mkdir -p "$R/etc/modprobe.d"
cat > "$R/etc/modprobe.d/ipt_NETFLOW.conf.tmp" <<CONF
# Written by netflow-k8s node setup.
options ipt_NETFLOW destination=$DEST protocol=$PROTOCOL engine_id=$ENGINE_ID active_timeout=$ACTIVE inactive_timeout=$INACTIVE refresh_rate=$REFRESH timeout_rate=$TRATE
CONF
mv "$R/etc/modprobe.d/ipt_NETFLOW.conf.tmp" "$R/etc/modprobe.d/ipt_NETFLOW.conf"

if [ -d "$R/sys/module/ipt_NETFLOW" ]; then
  # Already loaded: change what differs, at run time.
  setsys() {
    cur=$(sysctl -n "net.netflow.$1" 2>/dev/null || echo)
    if [ "$cur" != "$2" ]; then log "net.netflow.$1: '$cur' -> '$2'"; sysctl -q -w "net.netflow.$1=$2"; fi
  }
  setsys protocol "$PROTOCOL"
  setsys destination "$DEST"
  setsys active_timeout "$ACTIVE"
  setsys inactive_timeout "$INACTIVE"
  setsys refresh-rate "$REFRESH"
  setsys timeout-rate "$TRATE"
  param="$R/sys/module/ipt_NETFLOW/parameters/engine_id"
  if [ -w "$param" ] && [ "$(cat "$param")" != "$ENGINE_ID" ]; then
    log "engine_id -> $ENGINE_ID"; echo "$ENGINE_ID" > "$param"
  fi
else
  log "loading ipt_NETFLOW: destination=$DEST protocol=$PROTOCOL engine_id=$ENGINE_ID active_timeout=$ACTIVE"
  modprobe ipt_NETFLOW
fi

if [ "$RMEM" -gt 0 ] && [ "$(sysctl -n net.core.rmem_max)" -lt "$RMEM" ]; then
  # The collector asks for an 8 MiB receive buffer; the kernel caps it at 2 x rmem_max.
  log "net.core.rmem_max -> $RMEM"; sysctl -q -w "net.core.rmem_max=$RMEM"
fi

# One chain, rebuilt each run, jumped to once from FORWARD. NETFLOW does not end the chain, so each
# NETFLOW rule is followed by a RETURN: a packet is counted once, on the node of the pod that sent
# it, or (from outside the pod network) on the node of the pod that receives it. A pod-to-pod flow
# between nodes is reported by both nodes; the collector's --dedup auto keeps the sender's report.
wanted_rules() {
  for i in $IFACES; do printf -- '-A %s -i %s -j NETFLOW\n-A %s -i %s -j RETURN\n' "$CHAIN" "$i" "$CHAIN" "$i"; done
  for i in $IFACES; do printf -- '-A %s -o %s -j NETFLOW\n-A %s -o %s -j RETURN\n' "$CHAIN" "$i" "$CHAIN" "$i"; done
}
rules() {
  ipt="$1"
  command -v "$ipt" >/dev/null 2>&1 || die "$ipt not found on this host"
  want=$(wanted_rules)
  have=$("$ipt" -w -S "$CHAIN" 2>/dev/null | grep -v -- '^-N ' || true)
  if [ "$want" != "$have" ]; then
    # Rebuilt only when it differs, so a re-run never opens a gap in the accounting.
    log "$ipt: (re)building chain $CHAIN for interfaces '$IFACES'"
    "$ipt" -w -N "$CHAIN" 2>/dev/null || "$ipt" -w -F "$CHAIN"
    echo "$want" | while read -r _ chain rest; do
      # shellcheck disable=SC2086
      "$ipt" -w -A "$chain" $rest || exit 1
    done
  fi
  "$ipt" -w -C FORWARD -j "$CHAIN" 2>/dev/null || "$ipt" -w -I FORWARD 1 -j "$CHAIN"
}
rules iptables
if [ "$IPV6" = true ]; then rules ip6tables; fi

log "ready on $NODE: destination=$DEST engine_id=$ENGINE_ID interfaces='$IFACES'"
