/**
 * Consul as the platform's config/discovery store, from the pinned HashiCorp chart: servers only
 * (3 in prod), ACLs managed by the chart with a bootstrap token we generate, TLS with a stack CA
 * and a server certificate issued here (@pulumi/tls), gossip encryption with a generated key.
 * The chart's own certificate path is its `tls-init` pre-install hook Job, which a Chart v4 never
 * runs: without our certificate the servers would wait forever for a Secret nobody creates.
 * `connectInject` is off: Istio is the mesh (and with it off the chart installs no Gateway API CRDs).
 */
import { kubernetesSecrets } from "../shared/secret-sink";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ConsulConfig } from "../../config/schema";
import { charts, images } from "../../versions";
import { chartRelease, customResource } from "../core/objects";
import { issueCert, selfSignedCa, serviceDnsNames } from "../shared/pki";
import { platformNamespace, secretEnv } from "../shared/pod-security";
import { contentHash, scriptPod } from "../shared/script-job";
import type { StoreArgs } from "./store";

/** HTTPS API port of the Consul servers. */
export const CONSUL_HTTPS_PORT = 8501;
/** UID of the `consul` user in the official image. */
const CONSUL_UID = 100;

/** Inputs of the Consul store (`settings`: servers, storage). */
export type ConsulArgs = StoreArgs<ConsulConfig> & {
  /** The prometheus-operator CRDs: the servers' PodMonitor needs them (none: observability is off, no PodMonitor). */
  readonly monitoringCrds: pulumi.Input<pulumi.Resource>[];
};

/** ACL rules of the token Prometheus scrapes `/v1/agent/metrics` with (the endpoint needs agent:read). */
export const CONSUL_METRICS_POLICY = `agent_prefix "" { policy = "read" }`;
/** Token-Job variable of the metrics token. */
const METRICS_TOKEN_VAR = "TOKEN_PROMETHEUS_METRICS";

/** Consul KV prefix a client service may write; `config/` is readable by every client. */
export const consulClientPrefix = (service: string): string => `services/${service}/`;

/** The ACL policy (HCL) of a client service: its own KV prefix read-write, shared config read-only. */
export function consulClientPolicy(service: string): string {
  return `key_prefix "${consulClientPrefix(service)}" { policy = "write" }\nkey_prefix "config/" { policy = "read" }`;
}

/** Environment a client service receives, each from a key of its `<service>-consul` Secret. */
export const CONSUL_CLIENT_ENV: Readonly<Record<string, string>> = {
  CONSUL_HTTP_ADDR: "addr",
  CONSUL_HTTP_TOKEN: "token",
  CONSUL_KEY_PREFIX: "prefix",
  CONSUL_CACERT_PEM: "ca.crt",
};

/** Name of the environment variable carrying a service's token in the token Job. */
const tokenVar = (service: string) => `TOKEN_${service.toUpperCase().replace(/-/g, "_")}`;

/**
 * Names the servers' certificate carries: the ones the chart's tls-init would give it
 * (`server.<datacenter>.consul`, the server Service's names and its pods' wildcards, localhost),
 * plus the Service's FQDN clients use.
 */
export function consulServerDnsNames(namespace: string, domain: string, datacenter: string): string[] {
  const svc = serviceDnsNames("consul-server", namespace, domain);
  return [`server.${datacenter}.consul`, `*.server.${datacenter}.consul`, ...svc, ...svc.map((n) => `*.${n}`), "localhost"];
}

/** Chart values for the Consul release. Pure, so the values-key tests can check them. */
export function consulValues(a: {
  readonly settings: ConsulConfig;
  readonly clusterName: string;
  readonly zones: boolean;
  readonly storageClass?: string;
  readonly caSecret: string;
  /** kubernetes.io/tls Secret with the servers' certificate (server.<datacenter>.consul and the Service names). */
  readonly serverCertSecret: string;
  readonly gossipSecret: string;
  readonly bootstrapSecret: string;
}): Record<string, unknown> {
  const n = a.settings.servers;
  return {
    global: {
      name: "consul",
      datacenter: a.clusterName,
      gossipEncryption: { autoGenerate: false, secretName: a.gossipSecret, secretKey: "key" },
      tls: {
        enabled: true,
        enableAutoEncrypt: true,
        verify: true,
        httpsOnly: true,
        // Only the CA certificate: the servers' certificate is issued here (consulServerDnsNames),
        // so no CA key enters the cluster.
        caCert: { secretName: a.caSecret, secretKey: "tls.crt" },
      },
      acls: { manageSystemACLs: true, bootstrapToken: { secretName: a.bootstrapSecret, secretKey: "token" } },
      metrics: { enabled: true, enableAgentMetrics: true },
    },
    server: {
      serverCert: { secretName: a.serverCertSecret },
      replicas: n,
      bootstrapExpect: n,
      storage: a.settings.storage,
      ...(a.storageClass ? { storageClass: a.storageClass } : {}),
      resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
      // Containers: the chart's own defaults are Pod Security restricted. The server pod gets the
      // RuntimeDefault seccomp profile at pod level too (the chart sets it per container only).
      // Not containerSecurityContext.aclInit: the chart would use it as the ACL-init pod's context
      // and then drop that container's restricted context altogether.
      securityContext: { runAsNonRoot: true, runAsGroup: 1000, runAsUser: 100, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
      // The chart's default anti-affinity keeps servers on distinct nodes; zones on top when known.
      ...(a.zones
        ? { topologySpreadConstraints: `- maxSkew: 1\n  topologyKey: topology.kubernetes.io/zone\n  whenUnsatisfiable: DoNotSchedule\n  labelSelector:\n    matchLabels:\n      app: consul\n      component: server\n` }
        : {}),
    },
    connectInject: { enabled: false },
    ui: { enabled: true },
  };
}

/** Consul servers from the pinned chart, with per-service ACL tokens. */
export class Consul extends pulumi.ComponentResource {
  /** The namespace (an Output: objects placed in it wait for it). */
  public readonly namespace: pulumi.Output<string>;
  /** HTTPS address of the Consul servers. */
  public readonly address: string;
  /** Service name → environment from the Secret holding its address, token and CA. */
  public readonly clientEnv: Record<string, Record<string, k8s.types.input.core.v1.EnvVarSource>>;

  constructor(name: string, args: ConsulArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:discovery:Consul", name, {}, opts);
    const child = { parent: this };
    if (args.settings.servers % 2 === 0) throw new pulumi.ResourceError(`platform:discovery.consul.servers: ${args.settings.servers} is even; Consul needs an odd server count`, this);
    const labels = { "app.kubernetes.io/part-of": "platform", "app.kubernetes.io/managed-by": "pulumi" };
    const ns = platformNamespace(`${name}-namespace`, args.namespace, child, args.namespaceLabels).metadata.name;
    this.namespace = ns;
    const meta = (objName: string) => ({ name: objName, namespace: ns, labels });
    const sink = (args.secretSinks ?? kubernetesSecrets)(this, name);
    const own = (objName: string) => ({ name: objName, namespace: args.namespace, namespaceRef: ns, labels });

    const ca = selfSignedCa(`${name}-ca`, "Consul CA", child);
    const caSecret = sink.secret(`${name}-ca`, { ...own(`${name}-ca`), type: "Opaque", data: { "tls.crt": ca.certPem } }, child);
    // Servers use it for RPC between themselves too: server and client usage.
    const serverCert = issueCert(`${name}-server`, ca, { commonName: `server.${args.clusterName}.consul`, dnsNames: consulServerDnsNames(args.namespace, args.domain, args.clusterName), ipAddresses: ["127.0.0.1"], usage: "peer" }, child);
    const serverCertSecret = sink.secret(`${name}-server-tls`, { ...own(`${name}-server-tls`), type: "kubernetes.io/tls", data: { "tls.crt": serverCert.certPem, "tls.key": serverCert.keyPem } }, child);
    const gossip = new random.RandomBytes(`${name}-gossip-key`, { length: 32 }, child);
    const gossipSecret = sink.secret(`${name}-gossip`, { ...own(`${name}-gossip`), type: "Opaque", data: { key: gossip.base64 } }, child);
    const bootstrap = new random.RandomUuid(`${name}-bootstrap-token`, {}, child);
    const bootstrapSecret = sink.secret(`${name}-bootstrap-token`, { ...own(`${name}-bootstrap-token`), type: "Opaque", data: { token: pulumi.secret(bootstrap.result) } }, child);

    const pin = charts.consul;
    const release = chartRelease(
      name,
      {
        releaseName: name,
        pin,
        namespace: ns,
        values: pulumi
          .all([caSecret.metadata.name, serverCertSecret.metadata.name, gossipSecret.metadata.name, bootstrapSecret.metadata.name])
          .apply(([caName, serverCertName, gossipName, bootstrapName]) =>
            consulValues({ settings: args.settings, clusterName: args.clusterName, zones: args.zones, ...(args.storageClass ? { storageClass: args.storageClass } : {}), caSecret: caName, serverCertSecret: serverCertName, gossipSecret: gossipName, bootstrapSecret: bootstrapName }),
          ),
      },
      child,
    );

    // The name the chart's server certificate carries (global.name "consul" → Service consul-server).
    this.address = `https://consul-server.${args.namespace}.svc:${CONSUL_HTTPS_PORT}`;
    this.clientEnv = {};
    const tokens = args.clients.map((c) => ({ client: c, token: new random.RandomUuid(`${name}-token-${c.service}`, {}, child) }));
    // The servers serve metrics on the HTTPS API (global.metrics): Prometheus scrapes them with a
    // read-only agent token and the stack CA (a PodMonitor here, in the servers' namespace).
    const metricsToken = new random.RandomUuid(`${name}-metrics-token`, {}, child);
    const metricsSecret = sink.secret(`${name}-metrics-token`, { ...own(`${name}-metrics-token`), type: "Opaque", data: { token: pulumi.secret(metricsToken.result) } }, child);
    // No prometheus-operator CRDs: observability is off, nothing would scrape.
    if (args.monitoringCrds.length > 0) {
      customResource(
        `${name}-servers`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PodMonitor",
          metadata: { name: `${name}-servers`, namespace: args.namespace, labels },
          spec: {
            selector: { matchLabels: { app: "consul", component: "server" } },
            podMetricsEndpoints: [
              {
                port: "https",
                scheme: "https",
                path: "/v1/agent/metrics",
                params: { format: ["prometheus"] },
                // The chart signs server certificates for server.<datacenter>.consul with the stack CA.
                tlsConfig: { ca: { secret: { name: `${name}-ca`, key: "tls.crt" } }, serverName: `server.${args.clusterName}.consul` },
                authorization: { type: "Bearer", credentials: { name: `${name}-metrics-token`, key: "token" } },
              },
            ],
          },
        },
        // The CRD, and the namespace and Secrets the monitor reads.
        { parent: this, dependsOn: [...args.monitoringCrds, metricsSecret, caSecret] },
      );
    }
    {
      const tokenSecret = sink.secret(
        `${name}-service-tokens`,
        { ...own(`${name}-service-tokens`), data: pulumi.secret(pulumi.all(tokens.map((t) => t.token.result)).apply((ids) => Object.fromEntries(tokens.map((t, i) => [t.client.service, ids[i]!])))) },
        child,
      );
      const script = consulTokenScript(args.clients.map((c) => c.service).sort(), true);
      const hash = contentHash(script);
      new k8s.batch.v1.Job(
        `${name}-acl-tokens`,
        {
          metadata: meta(`${name}-acl-tokens-${hash}`),
          spec: {
            backoffLimit: 10,
            template: scriptPod({
              name: "consul",
              image: `${images.consul.repository}:${images.consul.tag}`,
              script,
              uid: CONSUL_UID,
              labels,
              env: [
                { name: "CONSUL_HTTP_ADDR", value: this.address },
                { name: "CONSUL_CACERT", value: "/etc/consul/ca/ca.crt" },
                { name: "CONSUL_HTTP_TOKEN", valueFrom: { secretKeyRef: { name: bootstrapSecret.metadata.name, key: "token" } } },
                ...args.clients.map((c) => ({ name: tokenVar(c.service), valueFrom: { secretKeyRef: { name: tokenSecret.metadata.name, key: c.service } } })),
                { name: METRICS_TOKEN_VAR, valueFrom: { secretKeyRef: { name: metricsSecret.metadata.name, key: "token" } } },
              ],
              // Only the CA certificate: the CA key stays with the chart's TLS init.
              volumes: [{ name: "ca", secret: { secretName: caSecret.metadata.name, items: [{ key: "tls.crt", path: "ca.crt" }] } }],
              mounts: [{ name: "ca", mountPath: "/etc/consul/ca", readOnly: true }],
            }),
          },
        },
        // Tokens are created through the servers' API: the release must be up.
        { parent: this, dependsOn: [release] },
      );
    }
    for (const { client: c, token } of tokens) {
      const secret = sink.secret(
        `${name}-client-${c.service}`,
        {
          name: `${c.service}-consul`,
          namespace: c.namespaceName,
          namespaceRef: c.namespace,
          labels: { ...labels, "app.kubernetes.io/component": "client-credentials" },
          data: pulumi.secret(pulumi.all([token.result, ca.certPem]).apply(([t, caPem]) => ({ addr: this.address, token: t, prefix: consulClientPrefix(c.service), "ca.crt": caPem }))),
        },
        child,
      );
      this.clientEnv[c.service] = secretEnv(secret.metadata.name, CONSUL_CLIENT_ENV);
    }
    this.registerOutputs({ address: this.address });
  }
}

/**
 * Idempotent: a policy per service and a token with the pre-generated secret ID; with `metrics`,
 * the read-only agent token Prometheus scrapes with.
 */
export function consulTokenScript(services: readonly string[], metrics = false): string {
  const lines = ["set -eu"];
  const entries = services.map((s) => ({ policy: `svc-${s}`, rules: consulClientPolicy(s), v: tokenVar(s), description: `platform service ${s}` }));
  if (metrics) entries.push({ policy: "prometheus-metrics", rules: CONSUL_METRICS_POLICY, v: METRICS_TOKEN_VAR, description: "Prometheus scraping /v1/agent/metrics" });
  for (const e of entries) {
    lines.push(
      `consul acl policy read -name ${e.policy} >/dev/null 2>&1 || consul acl policy create -name ${e.policy} -rules '${e.rules}'`,
      `CONSUL_HTTP_TOKEN="$${e.v}" consul acl token read -self >/dev/null 2>&1 || consul acl token create -secret="$${e.v}" -policy-name=${e.policy} -description="${e.description}"`,
    );
  }
  return lines.join("\n");
}
