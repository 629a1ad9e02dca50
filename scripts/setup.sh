#!/usr/bin/env bash
# Sets up a fresh machine for the render and the tests, and says what it installs:
#   Debian packages  graphviz (the graph's SVG), spin + gcc + libc6-dev (the formal models),
#                    prometheus (promtool: the SLO rules' checks and unit tests), shellcheck
#                    (actionlint's check of the workflows' shell steps); with sudo when not root,
#                    and only those missing
#   npm packages     npm ci (package-lock.json)
#   Go-built tools   scripts/install-tools.sh: Helm, pod-security, yaml-json, nats-authz, the Kyverno CLI, actionlint,
#                    etcd, kube-apiserver and kube-controller-manager (npm run e2e), pinned,
#                    from the Go module proxy, cached
# Exits non-zero, naming what is missing, when something cannot be installed (no apt-get, no sudo, no go).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

need=()
command -v dot >/dev/null 2>&1 || need+=(graphviz)
command -v spin >/dev/null 2>&1 || need+=(spin)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
[ -e /usr/include/stdio.h ] || need+=(libc6-dev)  # only a Recommends of gcc, and pan.c needs the C headers
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: not installed: ${need[*]}, and there is no apt-get here to install them; install them with your package manager" >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "setup: not installed: ${need[*]}; installing them needs root or sudo" >&2
      exit 1
    fi
    sudo=(sudo -E)
  fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "setup: Debian packages present: graphviz, spin, gcc, libc6-dev, prometheus, shellcheck"
fi

echo "setup: npm ci"
npm ci --no-audit --no-fund
bash scripts/install-tools.sh
