import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import type { PlatformConfig } from "../config/schema";
import { allSagaTopics, resiliencePlan, ResiliencePlan } from "../config/resilience";
import { crdBundles, images } from "../versions";
import { consulSettings, etcdSettings, PLATFORM_NAMESPACES, telemetryEndpoint } from "../config/schema";
import { useChartSource, useChartValues } from "./core/objects";
import { GatewayApiCrds } from "./core/gateway-api-crds";
import { Consul } from "./discovery/consul";
import { EtcdCluster, etcdPodMonitor } from "./discovery/etcd-cluster";
import { Nats } from "./messaging/nats";
import { StrimziKafka } from "./messaging/strimzi-kafka";
import { StrimziOperator } from "./messaging/strimzi-operator";
import { Namespaces } from "./core/namespaces";
import { EntryGateway } from "./gateway/entry-gateway";
import { waypointNamespaces, WAYPOINT_NAME } from "./mesh/authorization";
import { IstioAmbient, istioPodMonitors } from "./mesh/istio-ambient";
import { MeshCa } from "./mesh/mesh-ca";
import { MeshPolicies } from "./mesh/mesh-policies";
import { EnvoyGatewayController } from "./gateway/envoy-gateway-controller";
import { DataPlaneSettings, GatewayRef, gatewayPrincipal as gatewayPrincipalOf, RouteResilience } from "./gateway/routing";
import { ServiceRoute } from "./gateway/service-route";
import { TraefikController } from "./gateway/traefik-controller";
import { KubePrometheusStack, DASHBOARD_LABEL, PROMETHEUS_SERVICE_ACCOUNT, prometheusUrl } from "./observability/kube-prometheus-stack";
import { Flagger, loadtesterPrincipal, loadtesterUrl } from "./delivery/flagger";
import { ProgressiveRollout } from "./delivery/progressive-rollout";
import { EXTERNAL_SECRETS_NAME, ExternalSecrets } from "./secrets/external-secrets";
import { PlatformStoreAccess, StoreSecrets } from "./secrets/platform-secrets";
import { ServiceSecrets } from "./secrets/service-secrets";
import { storeAccess } from "./secrets/store-access";
import { Vault } from "./secrets/vault";
import { Jaeger, jaegerOtlpAddress, jaegerQueryUrl } from "./observability/jaeger";
import { Loki, lokiOtlpUrl, lokiUrl } from "./observability/loki";
import { OtelCollector } from "./observability/otel-collector";
import { PrometheusOperatorCrds } from "./observability/prometheus-operator-crds";
import { ServiceSlos } from "./observability/service-slos";
import { serviceSlos } from "./observability/slo";
import { serviceGraph, ServiceGraph } from "./service-graph";
import { AdmissionPolicies } from "./security/admission-policies";
import { Kyverno } from "./security/kyverno";
import { networkPlan } from "./security/network-grants";
import { NetworkPolicies } from "./security/network-policies";
import { Microservice } from "./workloads/microservice";
import { PACKAGE_ROOT } from "./shared/package-root";
import { kubernetesSecrets, SecretSinks } from "./shared/secret-sink";
import { idle } from "./core/pacing";

/** Namespace of the observability area. */
const OBSERVABILITY_NAMESPACE = PLATFORM_NAMESPACES.observability;


/** Inputs of the Platform. */
export interface PlatformArgs {
  /**
   * The stack's validated config: `parsePlatformConfig(input)` (config/load.ts) from typed input
   * (`PlatformInput`), or `loadPlatformConfig()` from the stack's `platform:` keys.
   */
  readonly config: PlatformConfig;
}

/** What a user of the stack needs from it. */
export interface ServiceEndpoint {
  /** In-cluster DNS name of the stable Service. */
  readonly host: string;
  readonly port: number;
  readonly protocol: "http" | "grpc";
}

/** What a user of the stack needs to reach and trust the gateway. */
export interface GatewayOutputs {
  readonly implementation: "traefik" | "envoy";
  /** https:// URL per gateway hostname. */
  readonly urls: string[];
  /** The generated CA certificate clients must trust (tls.mode generate). */
  readonly caCertPem?: pulumi.Output<string>;
}

/** Where the config store and the brokers listen. */
export interface DataServices {
  /** Absent with discovery.store none. */
  readonly store?: { readonly kind: "etcd" | "consul"; readonly endpoint: string };
  readonly kafkaBootstrap?: string;
  readonly natsUrl?: string;
}

/**
 * The whole platform for one stack. It composes the areas in the order of INSTALL_ORDER
 * (components/install-order.ts); areas receive what they need from each other as args.
 */
export class Platform extends pulumi.ComponentResource {
  /** The validated config the platform was built from (what the render's proofs and audits read). */
  public readonly config: PlatformConfig;
  /** The plain-data view of the service declarations every area derives from. */
  public readonly graph: ServiceGraph;
  /** Effective timeouts, retries, pools and breakers of every call and exposure (config/resilience.ts). */
  public readonly resilience: ResiliencePlan;

  /** One exposure's resilience at the gateway. */
  private routeResilience(service: string): RouteResilience {
    const exposure = this.resilience.exposures.find((x) => x.service === service);
    const destination = this.resilience.destinations.get(service);
    if (!exposure || !destination) throw new pulumi.ResourceError(`platform:services.${service}.expose: no resilience plan for the exposure`, this);
    return { exposure, destination };
  }
  /** Service name → in-cluster endpoint. */
  public readonly endpoints: Record<string, ServiceEndpoint>;
  /** Application namespaces. */
  public readonly namespaces: pulumi.Output<string[]>;
  /** The gateway's URLs and CA, when the gateway is enabled. */
  public readonly gateway?: GatewayOutputs;
  /** In-cluster addresses of the config store and the event brokers (clients get them, with credentials, from Secrets). */
  public readonly dataServices: DataServices;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:index:Platform", name, {}, opts);
    const cfg = args.config;
    this.config = cfg;
    // Where telemetry goes: the collector, an endpoint of the stack's own, or nowhere (observability off).
    const otlpEndpoint = telemetryEndpoint(cfg);
    this.graph = serviceGraph(cfg);
    this.resilience = resiliencePlan(cfg);
    // Every chart below comes from the stack's chart source (a local cache or a mirror), when set.
    useChartSource(cfg.charts.path || cfg.charts.repository ? cfg.charts : undefined);
    useChartValues(cfg.charts.values);

    // Stage "crds": the Gateway API is read by both the gateway and the mesh.
    let gatewayApiCrds: GatewayApiCrds | undefined;
    // istiod, once the mesh is on: Istio's CRDs (policies of later areas wait for it).
    let istiod: pulumi.Resource | undefined;
    if (cfg.gateway.enabled || cfg.mesh.enabled) {
      const pin = crdBundles.gatewayApi;
      gatewayApiCrds = new GatewayApiCrds("gateway-api-crds", { dir: path.join(PACKAGE_ROOT, pin.path), version: pin.version }, { parent: this });
    }

    // Stage "namespaces". With the mesh on, application namespaces (and the gateway's) are enrolled
    // in ambient. Webhook namespaces (Kyverno's) are deliberately not: the API server is outside the
    // mesh and cannot speak mTLS to a STRICT workload (istio/istio#52874).
    const ambient: Record<string, string> = cfg.mesh.enabled ? { "istio.io/dataplane-mode": "ambient" } : {};
    const useWaypoint = cfg.mesh.enabled ? Object.fromEntries(waypointNamespaces(this.graph).map((ns) => [ns, { "istio.io/use-waypoint": WAYPOINT_NAME }])) : {};
    const namespaces = new Namespaces(
      "namespaces",
      { names: this.graph.namespaces, podSecurity: cfg.security.podSecurity, labels: ambient, labelsFor: useWaypoint },
      { parent: this },
    );
    // Every namespace any area creates, by name: the network policies wait for theirs.
    const createdNamespaces: Record<string, pulumi.Output<string>> = { ...namespaces.names };

    // Mesh area: CA → istiod (after the Gateway API CRDs) → cni, ztunnel; policies after istiod.
    if (cfg.mesh.enabled) {
      const meshNsName = PLATFORM_NAMESPACES.mesh;
      // ztunnel and istio-cni are node agents that need host networking and capabilities.
      const meshNs = new Namespaces("mesh-namespace", { names: [meshNsName], podSecurity: "privileged" }, { parent: this });
      createdNamespaces[meshNsName] = meshNs.names[meshNsName]!;
      const ca = cfg.mesh.ca.mode === "generate" ? new MeshCa("mesh-ca", { namespace: meshNs.names[meshNsName]!, clusterName: cfg.cluster.name, trustDomain: cfg.cluster.domain, storeBootstrap: cfg.secrets.platformSecrets.enabled }, { parent: this }) : undefined;
      // istiod reads cacerts only at start-up and watches the Gateway API CRDs.
      const istio = new IstioAmbient(
        "istio",
        {
          namespace: meshNs.names[meshNsName]!,
          replicas: cfg.mesh.replicas,
          distribution: cfg.cluster.distribution,
          trustDomain: cfg.cluster.domain,
          spreadAcrossZones: cfg.cluster.zones.length > 0,
          ...(otlpEndpoint ? { otlpEndpoint } : {}),
          production: cfg.environment === "prod",
          retries: cfg.resilience.retries,
          istiodAfter: [...(gatewayApiCrds ? [gatewayApiCrds] : []), ...(ca ? [ca] : [])],
        },
        { parent: this },
      );
      // The gateway's data plane identity: allowed to reach exactly the exposed services.
      const gatewayPrincipal = gatewayPrincipalOf(cfg);
      // Istio's CRDs and the istio-waypoint class come with istiod; the policies live in the app namespaces.
      new MeshPolicies(
        "mesh-policies",
        { rootNamespace: meshNsName, graph: this.graph, trustDomain: cfg.cluster.domain, ...(gatewayPrincipal ? { gatewayPrincipal } : {}), ...(this.graph.exposures.some((e) => e.progressive) ? { loadtesterPrincipal: loadtesterPrincipal(cfg.cluster.domain, PLATFORM_NAMESPACES.delivery) } : {}), ...(otlpEndpoint ? { samplingPercent: cfg.observability.tracingSamplingPercent } : {}), resilience: this.resilience },
        // istiod brings the CRDs' validation and the istio-waypoint class; cni and ztunnel are not needed to accept policies.
        { parent: this, dependsOn: [istio.istiod, namespaces] },
      );
      istiod = istio.istiod;
    }

    // ---- Observability (docs/observability.md) -----------------------------------------------
    // Other areas' PodMonitors/ServiceMonitors wait on the prometheus-operator CRDs release.
    // Observability off (dev only): none of it, and no monitor anywhere (monitoringCrds stays empty).
    let monitoringCrds: pulumi.Resource[] = [];
    let obsNsOut: pulumi.Output<string> | undefined;
    if (cfg.observability.enabled) {
      const nsName = OBSERVABILITY_NAMESPACE;
      // Stage "namespaces": the collector agent and node-exporter mount host paths, so this
      // namespace enforces `privileged` (audit and warn stay at baseline to show what needs it).
      obsNsOut = new Namespaces(
        "observability-namespace",
        { names: [nsName], podSecurity: "baseline", labels: { "pod-security.kubernetes.io/enforce": "privileged" } },
        { parent: this },
      ).names[nsName]!;
      createdNamespaces[nsName] = obsNsOut;
      // Stage "monitoring-crds".
      const crds = new PrometheusOperatorCrds("prometheus-operator-crds", { namespace: obsNsOut }, { parent: this });
      monitoringCrds = [crds.release];
    }

    // ---- Stages "secrets-operator" and "secrets": External Secrets and Vault, before every area
    // whose generated Secrets go through the store (secrets.platformSecrets, docs/secrets.md). ----
    // Where the areas' generated Secrets go: created by `pulumi up`, or written to the store and
    // made by ExternalSecrets.
    let secretSinks: SecretSinks = kubernetesSecrets;
    let secretsArea: { vault: Vault; eso: ExternalSecrets; writer?: StoreSecrets; platformAccess: (a: PlatformStoreAccess[]) => void } | undefined;
    if (cfg.secrets.enabled) {
      const eso = new ExternalSecrets("external-secrets", { namespace: PLATFORM_NAMESPACES.externalSecrets, ha: cfg.environment === "prod", monitoringCrds }, { parent: this });
      // The readers of the platform's secrets are known once every area has registered its Secrets (the end of this constructor).
      let platformAccess: (a: PlatformStoreAccess[]) => void = () => undefined;
      const platformAccessKnown = new Promise<PlatformStoreAccess[]>((resolve) => (platformAccess = resolve));
      // The store is a STRICT mTLS workload in the mesh; External Secrets' controller calls it with its own identity.
      const vault = new Vault(
        "vault",
        {
          namespace: PLATFORM_NAMESPACES.secrets,
          namespaceLabels: ambient,
          replicas: cfg.secrets.replicas,
          storageSize: cfg.secrets.storageSize,
          auditStorageSize: cfg.secrets.auditStorageSize,
          domain: cfg.cluster.domain,
          access: storeAccess(cfg.services),
          platformAccess: platformAccessKnown,
          monitoringCrds,
          ...(istiod
            ? {
                mesh: {
                  trustDomain: cfg.cluster.domain,
                  externalSecretsPrincipal: `${cfg.cluster.domain}/ns/${PLATFORM_NAMESPACES.externalSecrets}/sa/${EXTERNAL_SECRETS_NAME}`,
                  ...(cfg.observability.enabled ? { prometheusPrincipal: `${cfg.cluster.domain}/ns/${OBSERVABILITY_NAMESPACE}/sa/${PROMETHEUS_SERVICE_ACCOUNT}` } : {}),
                  istiod,
                },
              }
            : {}),
        },
        { parent: this },
      );
      createdNamespaces[PLATFORM_NAMESPACES.secrets] = vault.namespace;
      createdNamespaces[PLATFORM_NAMESPACES.externalSecrets] = eso.namespace;
      const writer = cfg.secrets.platformSecrets.enabled
        ? new StoreSecrets(vault, { storeUrl: vault.url, caCertPem: vault.caCertPem, writerAddress: cfg.secrets.platformSecrets.address, refreshInterval: cfg.secrets.refreshInterval, store: vault.release, operator: eso.release })
        : undefined;
      if (writer) secretSinks = writer.sinks;
      secretsArea = { vault, eso, ...(writer ? { writer } : {}), platformAccess };
    }

    if (cfg.observability.enabled) {
      const obs = cfg.observability;
      const domain = cfg.cluster.domain;
      const nsName = OBSERVABILITY_NAMESPACE;
      const obsNs = obsNsOut!;
      // Stage "monitoring".
      new KubePrometheusStack(
        "kube-prometheus-stack",
        {
          namespace: obsNs,
          namespaceName: nsName,
          sizing: { prometheus: obs.prometheus, alertmanager: obs.alertmanager, grafana: obs.grafana },
          ...(cfg.cluster.storageClass ? { storageClass: cfg.cluster.storageClass } : {}),
          clusterName: cfg.cluster.name,
          datasources: [
            { name: "Jaeger", uid: "jaeger", type: "jaeger", url: jaegerQueryUrl(nsName, domain) },
            { name: "Loki", uid: "loki", type: "loki", url: lokiUrl(nsName, domain) },
          ],
          monitoringCrds,
          secretSinks,
          meshEnrolled: cfg.mesh.enabled,
          // Components whose charts bring no monitor of their own.
          podMonitors: [
            ...(cfg.mesh.enabled ? istioPodMonitors(PLATFORM_NAMESPACES.mesh) : []),
            ...(cfg.discovery.store === "etcd" ? [etcdPodMonitor(PLATFORM_NAMESPACES.discovery, "etcd")] : []),
          ],
        },
        { parent: this },
      );
      // Stage "telemetry-backends".
      const storageClass = cfg.cluster.storageClass ? { storageClass: cfg.cluster.storageClass } : {};
      new Jaeger("jaeger", { namespace: obsNs, storage: obs.jaeger.storage, retentionHours: obs.jaeger.retentionHours, ...storageClass, monitoringCrds }, { parent: this });
      new Loki("loki", { namespace: obsNs, storage: obs.loki.storage, retentionHours: obs.loki.retentionHours, ...storageClass, monitoringCrds }, { parent: this });
      // Stage "telemetry-pipeline".
      const collector = new OtelCollector(
        "otel-collector",
        {
          namespace: obsNs,
          namespaceName: nsName,
          clusterDomain: domain,
          backends: { jaegerOtlpGrpc: jaegerOtlpAddress(nsName, domain), lokiOtlpHttp: lokiOtlpUrl(nsName, domain) },
          policy: {
            samplingPercent: obs.tracingSamplingPercent,
            slowTraceMs: cfg.slo.latencyMs.p99,
            redactAttributes: obs.redactAttributes,
            redactPatterns: obs.redactPatterns,
          },
          gatewayReplicas: obs.collector.gatewayReplicas,
          monitoringCrds,
        },
        { parent: this },
      );
      if (collector.otlpEndpoint !== obs.otlpEndpoint) {
        pulumi.log.warn(`platform:observability.otlpEndpoint is ${obs.otlpEndpoint}, not the collector agent (${collector.otlpEndpoint}): workloads export elsewhere`, this);
      }
      // Stage "slos".
      new ServiceSlos("slos", { namespace: obsNs, slos: serviceSlos(this.graph, cfg.slo, cfg.services), dashboardLabel: DASHBOARD_LABEL, monitoringCrds }, { parent: this });
    }
    // ---- end observability ----------------------------------------------------------------------

    // Gateway area: controller → Gateway; routes need only the controller (its CRDs) and their namespace.
    if (cfg.gateway.enabled) {
      const gw = cfg.gateway;
      const gwNs = new Namespaces("gateway-namespace", { names: [gw.namespace], podSecurity: "restricted", labels: ambient }, { parent: this });
      const gwNsName = gwNs.names[gw.namespace]!;
      createdNamespaces[gw.namespace] = gwNsName;
      const dataPlane: DataPlaneSettings = {
        replicas: gw.replicas,
        spreadAcrossZones: cfg.cluster.zones.length > 0,
        ...(otlpEndpoint ? { otlpEndpoint } : {}),
        samplingPercent: cfg.observability.tracingSamplingPercent,
      };
      // Controllers watch the Gateway API CRDs: the only reason for this edge.
      const crdsFirst = { parent: this, dependsOn: gatewayApiCrds ? [gatewayApiCrds] : [] };
      const controller =
        gw.implementation === "traefik"
          ? new TraefikController("traefik", { namespace: gwNsName, dataPlane, logLevel: gw.traefik?.logLevel ?? "INFO" }, crdsFirst)
          : new EnvoyGatewayController(
              "envoy-gateway",
              { namespace: gwNsName, replicas: gw.replicas, spreadAcrossZones: dataPlane.spreadAcrossZones, logLevel: gw.envoy?.logLevel ?? "info" },
              crdsFirst,
            );
      // The class needs its controller, EnvoyProxy and the policies need the controller's CRDs, and
      // the TLS Secret needs the gateway namespace.
      const entry = new EntryGateway(
        "gateway",
        {
          implementation: gw.implementation,
          namespace: gw.namespace,
          hostnames: gw.hostnames,
          tls: gw.tls,
          appNamespaces: this.graph.namespaces,
          dataPlane,
          stack: pulumi.getStack(),
          monitoringCrds,
          secretSinks,
        },
        { parent: this, dependsOn: [controller.release, gwNs.objects[gw.namespace]!] },
      );
      const gatewayRef: GatewayRef = { namespace: gw.namespace, hostnames: gw.hostnames };
      for (const e of this.graph.exposures) {
        // Middlewares/TraefikServices and Envoy's policies are the controller's CRDs; routes live in the service's namespace.
        new ServiceRoute(`${e.service}-route`, { implementation: gw.implementation, exposure: e, gateway: gatewayRef, resilience: this.routeResilience(e.service) }, { parent: this, dependsOn: [controller.release, namespaces.objects[e.namespace]!] });
      }

      // ---- Stages "delivery" and "rollouts": Flagger, and a Canary per progressive service ----
      // Config guarantees observability is on for them (the analysis reads Prometheus).
      const progressive = this.graph.exposures.filter((e) => e.progressive);
      if (progressive.length) {
        const promUrl = prometheusUrl(OBSERVABILITY_NAMESPACE, cfg.cluster.domain);
        // Flagger watches HTTPRoutes (the Gateway API CRDs); it queries Prometheus, a STRICT mTLS workload, so it joins the mesh.
        const flagger = new Flagger(
          "flagger",
          {
            namespace: PLATFORM_NAMESPACES.delivery,
            namespaceLabels: ambient,
            ha: cfg.environment === "prod",
            prometheusUrl: promUrl,
            monitoringCrds,
            canaryNamespaces: [...new Set(progressive.map((e) => e.namespace))],
            ...(istiod ? { mesh: { trustDomain: cfg.cluster.domain, prometheusPrincipal: `${cfg.cluster.domain}/ns/${OBSERVABILITY_NAMESPACE}/sa/${PROMETHEUS_SERVICE_ACCOUNT}`, istiod } } : {}),
          },
          { parent: this, dependsOn: gatewayApiCrds ? [gatewayApiCrds] : [] },
        );
        createdNamespaces[PLATFORM_NAMESPACES.delivery] = flagger.namespace;
        const slos = new Map(serviceSlos(this.graph, cfg.slo, cfg.services).map((x) => [x.service, x]));
        for (const e of progressive) {
          // The Canary is Flagger's CRD and reads its MetricTemplates; it lives in the service's namespace.
          new ProgressiveRollout(
            `${e.service}-rollout`,
            {
              exposure: e,
              slo: slos.get(e.service)!,
              implementation: gw.implementation,
              gateway: gatewayRef,
              resilience: this.routeResilience(e.service),
              templatesNamespace: PLATFORM_NAMESPACES.delivery,
              gates: { loadtesterUrl: loadtesterUrl(PLATFORM_NAMESPACES.delivery, cfg.cluster.domain), prometheusUrl: promUrl, domain: cfg.cluster.domain },
            },
            { parent: this, dependsOn: [flagger.release, ...flagger.templates, namespaces.objects[e.namespace]!] },
          );
        }
      }
      this.gateway = { implementation: gw.implementation, urls: entry.urls, ...(entry.caCertPem ? { caCertPem: entry.caCertPem } : {}) };
    }

    // ---- Stages "discovery" and "messaging" (etcd or Consul; Kafka on Strimzi; NATS JetStream) ----
    // Their namespaces join the ambient mesh like the applications': clients reach them over mTLS
    // with SPIFFE identities (etcd, Kafka and NATS keep their own TLS inside).
    // Client credentials land in the services' namespaces as Secrets; services read them as env
    // through secretKeyRef, so each service waits for its own Secrets (through their name outputs).
    const nsOf = (svc: string): pulumi.Output<string> => {
      const ns = namespaces.names[cfg.services[svc]!.namespace];
      if (ns === undefined) throw new pulumi.ResourceError(`platform:services.${svc}.namespace: namespace ${cfg.services[svc]!.namespace} was not created`, this);
      return ns;
    };
    const clientEnv: Record<string, Record<string, k8s.types.input.core.v1.EnvVarSource>> = {};
    const addEnv = (env: Record<string, Record<string, k8s.types.input.core.v1.EnvVarSource>>) => {
      for (const [svc, e] of Object.entries(env)) clientEnv[svc] = { ...clientEnv[svc], ...e };
    };
    const storeClients = this.graph.configStoreClients.map((service) => ({ service, namespace: nsOf(service), namespaceName: cfg.services[service]!.namespace }));
    const placement = { domain: cfg.cluster.domain, zones: cfg.cluster.zones.length > 0, ...(cfg.cluster.storageClass ? { storageClass: cfg.cluster.storageClass } : {}) };
    let store: DataServices["store"] | undefined;
    if (cfg.discovery.store === "etcd") {
      const etcd = new EtcdCluster("etcd", { namespace: PLATFORM_NAMESPACES.discovery, secretSinks, namespaceLabels: ambient, settings: etcdSettings(cfg.discovery), clusterName: cfg.cluster.name, clients: storeClients, ...placement }, { parent: this });
      addEnv(etcd.clientEnv);
      createdNamespaces[PLATFORM_NAMESPACES.discovery] = etcd.namespace;
      store = { kind: "etcd", endpoint: etcd.endpoints };
    } else if (cfg.discovery.store === "consul") {
      const consul = new Consul("consul", { namespace: PLATFORM_NAMESPACES.discovery, secretSinks, namespaceLabels: ambient, settings: consulSettings(cfg.discovery), clusterName: cfg.cluster.name, clients: storeClients, ...placement, monitoringCrds }, { parent: this });
      addEnv(consul.clientEnv);
      createdNamespaces[PLATFORM_NAMESPACES.discovery] = consul.namespace;
      store = { kind: "consul", endpoint: consul.address };
    }
    let kafkaBootstrap: string | undefined;
    if (cfg.messaging.kafka.enabled) {
      const users = [...new Set(this.graph.topicUse.map((u) => u.service))].map((service) => ({ service, namespace: nsOf(service), namespaceName: cfg.services[service]!.namespace }));
      const operator = new StrimziOperator("strimzi", { namespace: PLATFORM_NAMESPACES.kafka, namespaceLabels: ambient, ha: cfg.environment === "prod", domain: cfg.cluster.domain }, { parent: this });
      const kafka = new StrimziKafka("kafka", { namespace: PLATFORM_NAMESPACES.kafka, secretSinks, operator, settings: cfg.messaging.kafka, usage: this.graph.topicUse, sagaTopics: allSagaTopics(cfg.resilience.sagas), clients: users, ...placement }, { parent: this });
      addEnv(kafka.clientEnv);
      createdNamespaces[PLATFORM_NAMESPACES.kafka] = operator.namespace;
      kafkaBootstrap = kafka.bootstrap;
    }
    let nats: Nats | undefined;
    if (cfg.messaging.nats.enabled) {
      const clients = Object.entries(cfg.services).flatMap(([service, s]) => (s.nats ? [{ service, namespaceName: s.namespace, namespace: nsOf(service), use: s.nats }] : []));
      nats = new Nats("nats", { namespace: PLATFORM_NAMESPACES.nats, secretSinks, namespaceLabels: ambient, settings: cfg.messaging.nats, ...placement, monitoringCrds, trustDomain: cfg.cluster.domain, clients }, { parent: this });
      addEnv(nats.clientEnv);
      createdNamespaces[PLATFORM_NAMESPACES.nats] = nats.namespace;
    }
    this.dataServices = { ...(store ? { store } : {}), ...(kafkaBootstrap ? { kafkaBootstrap } : {}), ...(nats ? { natsUrl: nats.url } : {}) };
    // ---- end discovery and messaging ----

    // ---- Stages "secrets" and "service-secrets": Vault, External Secrets, then each declaring
    // service's SecretStore and ExternalSecret (its pods wait for the Secret through its name). ----
    const storeSecrets: Record<string, pulumi.Output<string>> = {};
    if (secretsArea) {
      const { vault, eso } = secretsArea;
      for (const a of storeAccess(cfg.services)) {
        const secrets = new ServiceSecrets(
          `${a.service}-secrets`,
          { access: a, storeUrl: vault.url, caCertPem: vault.caCertPem, refreshInterval: cfg.secrets.refreshInterval },
          { parent: this, dependsOn: [eso.release, namespaces.objects[a.namespace]!] },
        );
        storeSecrets[a.service] = secrets.secretName;
      }
    }

    // ---- Security: Kyverno, then its policies; application pods are admitted only after both ----
    // Kyverno's namespace stays out of ambient: the API server calls its webhooks without a mesh
    // certificate (istio/istio#52874).
    // security.admission.enabled false (dev only): no Kyverno, no policies; the pack still checks at preview.
    let admission: AdmissionPolicies | undefined;
    if (cfg.security.admission.enabled) {
      const securityNs = new Namespaces("security-namespace", { names: [PLATFORM_NAMESPACES.security], podSecurity: "restricted" }, { parent: this });
      createdNamespaces[PLATFORM_NAMESPACES.security] = securityNs.names[PLATFORM_NAMESPACES.security]!;
      const kyverno = new Kyverno("kyverno", { namespace: securityNs.names[PLATFORM_NAMESPACES.security]!, production: cfg.environment === "prod", monitoringCrds }, { parent: this });
      // The policies are Kyverno's CRDs, served by its webhook.
      admission = new AdmissionPolicies("admission-policies", { security: cfg.security, appNamespaces: this.graph.namespaces, ...(cfg.mesh.enabled ? { waypointImage: `${images.istioProxy.repository}:${images.istioProxy.tag}` } : {}) }, { parent: this, dependsOn: [kyverno] });
    }

    // Stage "network-policies": default deny and the derived allow rules, in every namespace above.
    if (cfg.security.networkPolicies) {
      new NetworkPolicies("network-policies", { plan: networkPlan(cfg, this.graph), namespaces: createdNamespaces }, { parent: this });
    }

    // Stage "workloads": each service waits for its own namespace (through the name output), its
    // credentials Secrets and the admission policies.
    for (const [svcName, spec] of Object.entries(cfg.services)) {
      const ns = namespaces.names[spec.namespace];
      if (ns === undefined) throw new pulumi.ResourceError(`platform:services.${svcName}.namespace: namespace ${spec.namespace} was not created`, this);
      new Microservice(
        svcName,
        {
          namespace: ns,
          spec,
          environment: cfg.environment,
          ...(otlpEndpoint ? { otlpEndpoint } : {}),
          spreadAcrossZones: cfg.cluster.zones.length > 0,
          ...(clientEnv[svcName] ? { extraEnv: clientEnv[svcName] } : {}),
          ...(storeSecrets[svcName] ? { storeSecret: storeSecrets[svcName] } : {}),
          // Pods are admitted only once the admission policies exist, or the first ones would skip them.
          admittedAfter: admission ? [admission] : [],
        },
        { parent: this },
      );
    }

    // Every area has queued its Secrets: once the paced ones are built, the configurator learns the readers.
    if (secretsArea) {
      const area = secretsArea;
      void idle().then(() => area.platformAccess(area.writer?.access() ?? []));
    }

    this.endpoints = Object.fromEntries(this.graph.services.map((s) => [s.name, { host: s.host, port: s.port, protocol: s.protocol }]));
    this.namespaces = pulumi.all(Object.values(namespaces.names));
    this.registerOutputs({ endpoints: this.endpoints, namespaces: this.namespaces, gateway: this.gateway, dataServices: this.dataServices });
  }
}
