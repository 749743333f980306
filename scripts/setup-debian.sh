#!/usr/bin/env bash
# Brings what the tests need onto a fresh Debian machine: Node.js 24 from the npm registry (the
# machines here ship Node 20) and the real peers the end-to-end tests run against.
# Prints the PATH entry for Node 24; use it as: export PATH="$(bash scripts/setup-debian.sh):$PATH"
set -euo pipefail
NODE_PREFIX="${NODE_PREFIX:-$HOME/.cache/netflow-k8s/node24}"
if ! "$NODE_PREFIX/node_modules/node/bin/node" --version 2>/dev/null | grep -q '^v24\.'; then
  mkdir -p "$NODE_PREFIX"
  npm install --prefix "$NODE_PREFIX" --no-save --no-audit --no-fund node@24 >&2
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  need=()
  for p in softflowd prometheus chromium fonts-dejavu-core openssl nfdump unbound dnsutils; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2
    # Debian's prometheus package starts a system service on :9090; the tests start their own.
    (systemctl stop prometheus 2>/dev/null || service prometheus stop 2>/dev/null || pkill -x prometheus || true) >&2
    # Likewise nfdump's nfcapd service; the tests run nfcapd on ports of their own.
    (systemctl stop nfdump 2>/dev/null || service nfdump stop 2>/dev/null || true) >&2
    # And unbound's system resolver service; the dnstap tests start their own on loopback.
    (systemctl stop unbound 2>/dev/null || service unbound stop 2>/dev/null || true) >&2
  fi
fi
echo "$NODE_PREFIX/node_modules/node/bin"
