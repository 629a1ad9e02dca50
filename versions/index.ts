/**
 * The version set: every pinned upstream chart, CRD bundle and image the platform installs, with
 * the reasoning that ties them together. Components import their pins from here and nowhere else,
 * so one review of this file is one review of what the platform runs.
 *
 * Compatibility chain (facts from the upstream files recorded in ../shared/crds/README.md):
 * - Istio 1.30.x is built against Gateway API v1.5.1 (it reads TCPRoute/UDPRoute as v1alpha2, which
 *   Gateway API v1.6 standard no longer serves). So the whole stack stays on Gateway API v1.5.1.
 * - Gateway API v1.5.1 is what Traefik v3.7 (chart 41.3.0) and Envoy Gateway v1.8 are built for.
 *   Envoy Gateway v1.9 bundles Gateway API v1.6.1, which needs Istio 1.31 (only a release
 *   candidate on 2026-11-22): v1.9 therefore waits for Istio 1.31 GA.
 * - Strimzi 1.x serves only `kafka.strimzi.io/v1` (v1beta2 was removed in 1.0.0).
 *
 * Envoy Gateway v1.8 reached end of life on 2026-11-08: moving to v1.9 means Gateway API v1.6 and
 * Istio 1.31 together (see charts.envoyGatewayCrds). Keeping the whole chain in one file is what
 * lets a reviewer check it.
 */

/** A Helm chart pinned to an exact version in a named repository. */
export interface ChartPin {
  /** Chart name inside the repository. */
  readonly chart: string;
  /** Exact chart version (never a range). */
  readonly version: string;
  /** Helm repository URL; `oci://` for OCI registries. */
  readonly repo: string;
  /** The application version the chart deploys, for humans and the report. */
  readonly appVersion: string;
  /** Why this version, and what an upgrade must move together with. */
  readonly note: string;
  /** The day upstream stops patching this release (ISO date), once it is known to be past or near; report.md names it. */
  readonly endOfLife?: string;
  /** What keeps the platform on this release after its end of life (report.md and UPGRADING.md). */
  readonly heldBack?: string;
}

/** A bundle of CRDs installed from upstream YAML, not from a chart. */
export interface CrdBundlePin {
  readonly name: string;
  readonly version: string;
  /** Where the vendored upstream files live, relative to the repository root. */
  readonly path: string;
  /** Upstream release asset or path the CRDs come from. */
  readonly source: string;
  readonly note: string;
}

/** A container image the platform itself runs (not the chart's own defaults). */
export interface ImagePin {
  readonly repository: string;
  readonly tag: string;
  readonly note: string;
}

/**
 * Why Envoy Gateway stays on v1.8 past its end of life: v1.9 is built on Gateway API v1.6.1, whose
 * CRDs the mesh's Istio 1.30 does not support (istiod does not become ready on unsupported Gateway
 * API CRDs, istio/istio#59443; 1.30 reads v1.5), so the move needs Istio 1.31 in the same change.
 */
const ENVOY_GATEWAY_HELD_BACK = "v1.9 needs Gateway API v1.6, which Istio 1.30 does not support: it moves together with Istio 1.31";

export const charts = {
  traefik: {
    chart: "traefik",
    version: "41.3.0",
    repo: "https://traefik.github.io/charts",
    appVersion: "v3.7.11",
    note: "Built for Gateway API v1.5.1; since chart 40.2.0 it no longer ships Gateway API CRDs.",
  },
  envoyGatewayCrds: {
    chart: "gateway-crds-helm",
    version: "v1.8.3",
    repo: "oci://docker.io/envoyproxy",
    appVersion: "v1.8.3",
    note: "Installed with Gateway API CRDs off and Envoy Gateway CRDs on.",
    endOfLife: "2026-11-08",
    heldBack: ENVOY_GATEWAY_HELD_BACK,
  },
  envoyGateway: {
    chart: "gateway-helm",
    version: "v1.8.3",
    repo: "oci://docker.io/envoyproxy",
    appVersion: "v1.8.3",
    note: "Installed with crds.enabled=false: its bundled CRDs are the experimental channel.",
    endOfLife: "2026-11-08",
    heldBack: ENVOY_GATEWAY_HELD_BACK,
  },
  istioBase: {
    chart: "base",
    version: "1.30.3",
    repo: "https://istio-release.storage.googleapis.com/charts",
    appVersion: "1.30.3",
    note: "Istio 1.30 reads Gateway API v1.5.1.",
  },
  istiod: {
    chart: "istiod",
    version: "1.30.3",
    repo: "https://istio-release.storage.googleapis.com/charts",
    appVersion: "1.30.3",
    note: "profile: ambient.",
  },
  istioCni: {
    chart: "cni",
    version: "1.30.3",
    repo: "https://istio-release.storage.googleapis.com/charts",
    appVersion: "1.30.3",
    note: "profile: ambient.",
  },
  ztunnel: {
    chart: "ztunnel",
    version: "1.30.3",
    repo: "https://istio-release.storage.googleapis.com/charts",
    appVersion: "1.30.3",
    note: "Ambient L4 data plane.",
  },
  consul: {
    chart: "consul",
    version: "2.0.3",
    repo: "https://helm.releases.hashicorp.com",
    appVersion: "2.0.3",
    note: "connectInject off: Istio is the mesh (and the chart then installs no Gateway API CRDs).",
  },
  strimzi: {
    chart: "strimzi-kafka-operator",
    version: "1.2.0",
    repo: "oci://quay.io/strimzi-helm",
    appVersion: "1.2.0",
    note: "Serves only kafka.strimzi.io/v1; KRaft only.",
  },
  flagger: {
    chart: "flagger",
    version: "1.36.1",
    repo: "https://flagger.app",
    appVersion: "1.36.1",
    note:
      "Progressive delivery with the Gateway API provider (gatewayapi:v1, HTTPRoute weights). The chart comes from " +
      "github.com/fluxcd/flagger@v1.36.1 (charts/flagger) through the Go module proxy (scripts/install-tools.sh): the " +
      "only Flagger release served there. Its CRDs (Canary, MetricTemplate, AlertProvider: flagger.app/v1beta1) are " +
      "in crds/flagger/1.36.1. An upgrade re-checks the HTTPRoute Flagger writes (components/delivery, audit/running/flagger.ts).",
  },
  flaggerLoadtester: {
    chart: "loadtester",
    version: "0.31.0",
    repo: "https://flagger.app",
    appVersion: "0.31.0",
    note:
      "Flagger's webhook runner, from the same module and tag as charts.flagger (charts/loadtester): it runs each " +
      "Canary's pre-rollout gates (the error-budget gate and the declared smoke tests) as blocking bash tasks.",
  },
  vault: {
    chart: "vault",
    version: "0.34.1",
    repo: "https://helm.releases.hashicorp.com",
    appVersion: "2.0.4",
    note:
      "The secret store (components/secrets/vault.ts): HA with integrated storage (raft), TLS, Kubernetes auth, audit " +
      "device. The chart is the repository github.com/hashicorp/vault-helm@v0.34.1, through the Go module proxy " +
      "(scripts/install-tools.sh). Vault, not OpenBao: neither OpenBao's chart nor its module is served to this build " +
      "(refused on 2026-12-02); the platform uses only the API both share (KV v2, Kubernetes auth, policies, file audit), " +
      "so a move to OpenBao is a chart swap (docs/secrets.md). Vault 2.x is under the Business Source License 1.1, " +
      "which allows running it as a company's own secret store.",
  },
  externalSecrets: {
    chart: "external-secrets",
    version: "0.16.2",
    repo: "https://charts.external-secrets.io",
    appVersion: "v0.16.2",
    note:
      "External Secrets Operator: Kubernetes Secrets from the store through ExternalSecrets (external-secrets.io/v1). " +
      "The chart comes from github.com/external-secrets/external-secrets@v0.16.2 (deploy/charts/external-secrets) with " +
      "upstream's own packaging step run by scripts/install-tools.sh (its version into Chart.yaml, its CRDs into the " +
      "chart by hack/helm.generate.sh); v1.x is not served whole. CRDs validated from crds/external-secrets/v0.16.2.",
  },
  nats: {
    chart: "nats",
    version: "2.14.2",
    repo: "https://nats-io.github.io/k8s/helm/charts/",
    appVersion: "2.14.2",
    note: "JetStream with file storage.",
  },
  otelCollector: {
    chart: "opentelemetry-collector",
    version: "0.170.0",
    repo: "https://open-telemetry.github.io/opentelemetry-helm-charts",
    appVersion: "0.158.0",
    note:
      "The chart needs mode and image.repository set; it deploys images.otelCollector (the contrib distribution, " +
      "the only one with the prometheus exporter). Two releases: otel-gateway (deployment) and otel-agent (daemonset).",
  },
  kubePrometheusStack: {
    chart: "kube-prometheus-stack",
    version: "88.5.3",
    repo: "oci://ghcr.io/prometheus-community/charts",
    appVersion: "v0.93.1",
    note:
      "prometheus-operator v0.93.1; Grafana chart 12.11.1. Installed with crds.enabled=false: the CRDs are their own " +
      "stage (prometheusOperatorCrds), so anything rendering a ServiceMonitor/PodMonitor/PrometheusRule waits only for them.",
  },
  prometheusOperatorCrds: {
    chart: "prometheus-operator-crds",
    version: "31.0.1",
    repo: "oci://ghcr.io/prometheus-community/charts",
    appVersion: "v0.93.1",
    note:
      "The CRDs of prometheus-operator v0.93.1, the operator kube-prometheus-stack 88.5.3 runs (same files as " +
      "crds/prometheus-operator/v0.93.1). Shipped as templates, so helm upgrades them (a chart's crds/ directory is never upgraded).",
  },
  jaeger: {
    chart: "jaeger",
    version: "4.11.1",
    repo: "https://jaegertracing.github.io/helm-charts",
    appVersion: "2.19.0",
    note:
      "Jaeger v2 (built on the OpenTelemetry Collector) as one all-in-one Deployment configured through `userconfig`; " +
      "storage: Badger on a PersistentVolumeClaim, hence exactly one replica (docs/observability.md).",
  },
  loki: {
    chart: "loki",
    version: "18.11.0",
    repo: "https://grafana-community.github.io/helm-charts",
    appVersion: "3.7.6",
    note:
      "Log backend: the collector exports logs over OTLP/HTTP to Loki's native /otlp endpoint. Monolithic mode with " +
      "filesystem storage on a PersistentVolumeClaim (one replica).",
  },
  kyverno: {
    chart: "kyverno",
    version: "3.9.0",
    repo: "https://kyverno.github.io/kyverno/",
    appVersion: "v1.19.0",
    note: "Installs the policies.kyverno.io CEL policy CRDs through its kyverno-api dependency.",
  },
} as const satisfies Record<string, ChartPin>;

export const crdBundles = {
  gatewayApi: {
    name: "gateway-api-standard",
    version: "v1.5.1",
    path: "crds/gateway-api/v1.5.1/standard",
    source: "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.5.1/standard-install.yaml",
    note: "Standard channel, including the safe-upgrades ValidatingAdmissionPolicy. Pinned by Istio 1.30.",
  },
} as const satisfies Record<string, CrdBundlePin>;

export const images = {
  etcd: {
    repository: "gcr.io/etcd-development/etcd",
    tag: "v3.6.4",
    note: "Official etcd image; Bitnami's etcd chart is frozen since 2025 and its images moved.",
  },
  otelCollector: {
    repository: "otel/opentelemetry-collector-contrib",
    tag: "0.158.0",
    note:
      "The contrib distribution at the chart's appVersion. Its manifest (open-telemetry/opentelemetry-collector-releases " +
      "@ v0.158.0 [218a54bfdf9f], distributions/otelcol-contrib/manifest.yaml) contains every component the platform " +
      "configures (OTEL_COLLECTOR_COMPONENTS). otelcol-k8s would be smaller but has no prometheus exporter.",
  },
  istioProxy: {
    repository: "docker.io/istio/proxyv2",
    tag: "1.30.3-distroless",
    note:
      "Not set by the platform: the image istiod gives the waypoints it creates in application namespaces " +
      "(istiod chart 1.30.3: global.hub/global.proxy.image:global.tag with the ambient profile's distroless variant). " +
      "The admission policies admit it in waypoint pods only; it moves with charts.istiod.",
  },
  vault: {
    repository: "hashicorp/vault",
    tag: "2.0.4",
    note: "The Vault CLI for the store's configurator Job (components/secrets/vault.ts): the image and tag charts.vault 0.34.1 runs its servers with.",
  },
  busybox: {
    repository: "docker.io/library/busybox",
    tag: "1.37.0-musl",
    note: "Static shell and coreutils copied into the distroless etcd image's Jobs (defrag, snapshot, auth bootstrap).",
  },
  natsBox: {
    repository: "docker.io/natsio/nats-box",
    tag: "0.19.7",
    note: "nats CLI for the JetStream stream/KV Job; the tag the nats chart 2.14.2 uses for its own nats-box.",
  },
  consul: {
    repository: "docker.io/hashicorp/consul",
    tag: "2.0.3",
    note: "consul CLI for the ACL token Job; the image consul chart 2.0.3 runs its servers with (global.image).",
  },
} as const satisfies Record<string, ImagePin>;

/**
 * Collector component types the platform configures, all in images.otelCollector: checked against
 * the distribution's manifest.yaml at the pinned tag (module in brackets). `file_log` and
 * `k8s_attributes` are the current names of filelog/k8sattributes (the chart's
 * rewriteDeprecatedComponentNames would rename the old ones anyway). Tests assert every configured
 * component is in this list.
 */
export const OTEL_COLLECTOR_COMPONENTS = {
  // [otlpreceiver, kubeletstatsreceiver, hostmetricsreceiver, filelogreceiver]
  receivers: ["otlp", "kubeletstats", "hostmetrics", "file_log"],
  // [memorylimiterprocessor, k8sattributesprocessor, resourceprocessor, attributesprocessor,
  //  redactionprocessor, transformprocessor, tailsamplingprocessor, batchprocessor]
  processors: ["memory_limiter", "k8s_attributes", "resource", "attributes", "redaction", "transform", "tail_sampling", "batch"],
  // [otlpexporter, otlphttpexporter, loadbalancingexporter, prometheusexporter]
  exporters: ["otlp", "otlphttp", "loadbalancing", "prometheus"],
  // [healthcheckextension]
  extensions: ["health_check"],
} as const;

/** Flux API versions the GitOps render emits (see docs/render.md for why Flux). */
export const flux = {
  helmRelease: "helm.toolkit.fluxcd.io/v2",
  helmRepository: "source.toolkit.fluxcd.io/v1",
  ociRepository: "source.toolkit.fluxcd.io/v1",
  kustomization: "kustomize.toolkit.fluxcd.io/v1",
  gitRepository: "source.toolkit.fluxcd.io/v1",
} as const;

/**
 * Runtime pins of this project itself: the current @pulumi/pulumi, whose `engines` is Node >= 22
 * (Node 20 reached end of life on 2026-04-30; CI still runs the suite on it, see .ci/run).
 */
export const toolchain = {
  pulumi: "3.276.0",
  pulumiKubernetes: "4.34.2",
  node: ">=22",
} as const;
