#!/usr/bin/env bash
# `npm run setup`: everything `npm test` needs on a Debian machine, installed where missing.
# .ci/run calls this same line (`npm run setup && npm test`) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# Redis (store tests), nginx and openssl (proxy recipes), the three browser engines (Chromium;
# Firefox, driven over WebDriver BiDi; WebKitGTK's WebDriver and MiniBrowser, under Xvfb), and
# Cairo and Pango with a compiler to build node-canvas for the renderer tests that use it.
packages=(
  redis-server nginx openssl iproute2 iptables
  chromium firefox-esr webkit2gtk-driver xvfb xauth
  libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev pkg-config build-essential
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt=(apt-get)
  elif command -v sudo >/dev/null; then
    apt=(sudo apt-get)
  else
    echo "setup: these Debian packages are missing; as root, run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The package's own dependencies, exactly as locked, when they are not installed yet.
[ -d node_modules ] || npm ci --no-audit --no-fund
# node-canvas, for the tests that pass it in (not a dependency of the package).
node -e "require('canvas')" 2>/dev/null || node scripts/install-node-canvas.mjs
echo "setup: done"
