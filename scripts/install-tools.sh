#!/usr/bin/env bash
# Installs the tools the render and the tests need, pinned, built from the Go module proxy (never a
# binary downloaded from elsewhere), cached between runs, and linked into .tools/bin:
#   helm  helm.sh/helm/v4/cmd/helm  — templates the platform's charts offline (render/charts.ts)
# Cache: ${XDG_CACHE_HOME:-~/.cache}/microservice-platform/tools/<tool>-<version>/ (one build per
# version, ~7 min and 65 MB for Helm on 2 cores). Prints what it installs; exits non-zero if a build fails.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v4.3.1

cache="${XDG_CACHE_HOME:-$HOME/.cache}/microservice-platform/tools"
mkdir -p .tools/bin "$cache"

if ! command -v go >/dev/null 2>&1; then
  echo "install-tools: not installed: go (needed to build helm from the Go module proxy)" >&2
  exit 1
fi

helm_dir="$cache/helm-$HELM_VERSION"
if [ ! -x "$helm_dir/helm" ]; then
  echo "install-tools: building helm $HELM_VERSION from the Go module proxy into $helm_dir"
  mkdir -p "$helm_dir"
  GOBIN="$helm_dir" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
fi
ln -sf "$helm_dir/helm" .tools/bin/helm
echo "install-tools: helm $("$helm_dir/helm" version --short) at .tools/bin/helm"
