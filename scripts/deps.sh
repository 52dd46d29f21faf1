#!/usr/bin/env bash
# Installs what building and testing Tern needs on Debian 12 (as root):
# Debian packages through apt-get, the JavaScript test clients through
# `npm ci` against the committed lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config
      libuv1-dev libssl-dev libsodium-dev libyaml-dev libjansson-dev
      libcmocka-dev libnats-dev nats-server jq python3 openssl libcurl4-openssl-dev
      tzdata                              # auth_jwt: a user's times_location
      clang-14 libclang-rt-14-dev
      libhttp-parser-dev prometheus chromium)   # monitor module; promtool and the dashboard test
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from Debian (nodejs + npm) or elsewhere (npm bundled).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "${1:-}" = "--tests" ]; then
    (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi
