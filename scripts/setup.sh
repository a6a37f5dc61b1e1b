#!/usr/bin/env bash
# `npm run setup`: everything `npm test` needs on a Debian machine, installed where missing.
# .ci/run calls this same line (`npm run setup && npm test`) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# Redis (store tests), nginx, HAProxy, Apache httpd, Caddy, Varnish and openssl (the proxy recipes of
# docs/, run by __tests__/proxies/), the three browser engines (Chromium;
# Firefox, driven over WebDriver BiDi; WebKitGTK's WebDriver and MiniBrowser, under Xvfb), and
# Cairo and Pango with a compiler to build node-canvas for the renderer tests that use it.
packages=(
  redis-server nginx haproxy apache2 caddy varnish openssl iproute2 iptables
  chromium firefox-esr webkit2gtk-driver xvfb xauth
  libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev pkg-config build-essential
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "setup: these Debian packages are missing; as root, run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Installing a server may start the system's own instance of it; the tests run their own (their
  # configs, free ports), so stop the system's and keep it from starting at boot.
  for service in nginx haproxy apache2 caddy varnish; do
    case " ${missing[*]} " in *" $service "*) ;; *) continue ;; esac
    "${as_root[@]}" service "$service" stop >/dev/null 2>&1 || true
    if [ -d /run/systemd/system ]; then
      "${as_root[@]}" systemctl disable --quiet "$service" >/dev/null 2>&1 || true
    else
      "${as_root[@]}" update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
  done
fi

# The package's own dependencies, exactly as locked, when they are not installed yet.
[ -d node_modules ] || npm ci --no-audit --no-fund
# node-canvas, for the tests that pass it in (not a dependency of the package).
node -e "require('canvas')" 2>/dev/null || node scripts/install-node-canvas.mjs
echo "setup: done"
