/**
 * The secret store: Vault (chart pinned in versions/index.ts) with integrated storage (raft, a
 * quorum of `replicas` servers in prod), TLS from its own CA (@pulumi/tls), the Kubernetes auth
 * method and a file audit device, in the ambient mesh behind a default-deny policy. A configurator
 * Job keeps the KV mount, the audit device and the per-service policies and roles equal to the
 * declarations (store-access.ts); the store's init, unseal and first role are the bootstrap a person
 * does once (bootstrapCommands), because whoever holds the unseal keys must not be this program.
 */
import { BOOTSTRAP_ANNOTATION } from "../shared/secret-sink";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { charts, images } from "../../versions";
import { chartRelease, childOptions, customResource, K8sObject } from "../core/objects";
import { PLATFORM_LABELS } from "../shared/labels";
import { issueCert, selfSignedCa, serviceDnsNames } from "../shared/pki";
import { platformNamespace } from "../shared/pod-security";
import { contentHash, scriptPod } from "../shared/script-job";
import type { PlatformStoreAccess } from "./platform-secrets";
import { AUDIT_LOG_PATH, CONFIGURATOR, K8S_AUTH_MOUNT, KV_MOUNT, PLATFORM_ACCESS_PREFIX, policyHcl, roleArgs, SERVICE_ACCESS_PREFIX, ServiceStoreAccess, STORE_AUDIENCE } from "./store-access";

/** The release name: the chart names the StatefulSet, its ServiceAccount and Services after it. */
export const VAULT_NAME = "vault";
export const VAULT_PORT = 8200;
/** Raft and request forwarding between the servers. */
export const VAULT_CLUSTER_PORT = 8201;
const TLS_DIR = "/vault/userconfig/vault-tls";
/** The UID/GID the Vault image runs as (its Dockerfile's `vault` user). */
const VAULT_UID = 100;
const VAULT_GID = 1000;

/** The store's in-cluster address (the chart's Service selects every unsealed server; standbys forward). */
export const vaultUrl = (namespace: string, domain: string): string => `https://${VAULT_NAME}.${namespace}.svc.${domain}:${VAULT_PORT}`;

/** The server configuration (HCL): TLS listener, raft joined through every peer's stable name, Prometheus metrics without a token. */
export function vaultServerConfig(a: { readonly namespace: string; readonly replicas: number }): string {
  const joins = Array.from({ length: a.replicas }, (_, i) =>
    `  retry_join {\n    leader_api_addr = "https://${VAULT_NAME}-${i}.${VAULT_NAME}-internal:${VAULT_PORT}"\n    leader_ca_cert_file = "${TLS_DIR}/ca.crt"\n  }\n`,
  ).join("");
  return [
    "ui = false",
    // Integrated storage: mlock is not needed (Vault's raft guidance) and would need IPC_LOCK, which Pod Security "restricted" drops.
    "disable_mlock = true",
    `listener "tcp" {\n  address = "[::]:${VAULT_PORT}"\n  cluster_address = "[::]:${VAULT_CLUSTER_PORT}"\n  tls_cert_file = "${TLS_DIR}/tls.crt"\n  tls_key_file = "${TLS_DIR}/tls.key"\n  tls_min_version = "tls13"\n  telemetry {\n    unauthenticated_metrics_access = true\n  }\n}`,
    `storage "raft" {\n  path = "/vault/data"\n${joins}}`,
    'service_registration "kubernetes" {}',
    'telemetry {\n  prometheus_retention_time = "30s"\n  disable_hostname = true\n}',
    "",
  ].join("\n");
}

const RESTRICTED_CONTAINER = { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };

/** Values of the Vault chart. Pure, so the values-key tests can check them. */
export function vaultValues(a: { readonly namespace: string; readonly replicas: number; readonly storageSize: string; readonly auditStorageSize: string; readonly tlsSecret: string; readonly monitoring: boolean }): Record<string, unknown> {
  return {
    global: { enabled: true, tlsDisable: false },
    // External Secrets brings secrets into the cluster: no sidecar injector, no CSI provider, no UI.
    injector: { enabled: false },
    csi: { enabled: false },
    ui: { enabled: false },
    server: {
      // One mode for every size: raft (integrated storage) with `replicas` servers; 1 has no HA.
      // The PDB keeps a quorum (the chart's ⌊(n-1)/2⌋ unavailable); one server gets none, since
      // maxUnavailable 0 would block every node drain.
      ha: { enabled: true, replicas: a.replicas, raft: { enabled: true, setNodeId: true, config: vaultServerConfig(a) }, disruptionBudget: { enabled: a.replicas > 1 } },
      dataStorage: { enabled: true, size: a.storageSize },
      auditStorage: { enabled: true, size: a.auditStorageSize },
      // Kubernetes auth reviews the services' tokens with the API server (system:auth-delegator).
      authDelegator: { enabled: true },
      extraEnvironmentVars: { VAULT_CACERT: `${TLS_DIR}/ca.crt` },
      volumes: [
        { name: "vault-tls", secret: { secretName: a.tlsSecret, defaultMode: 0o440 } },
        // The chart's start script writes the rendered config to /tmp; the root filesystem stays read-only.
        { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
      ],
      volumeMounts: [
        { name: "vault-tls", mountPath: TLS_DIR, readOnly: true },
        { name: "tmp", mountPath: "/tmp" },
      ],
      statefulSet: {
        securityContext: {
          pod: { runAsNonRoot: true, runAsUser: VAULT_UID, runAsGroup: VAULT_GID, fsGroup: VAULT_GID, seccompProfile: { type: "RuntimeDefault" } },
          container: RESTRICTED_CONTAINER,
        },
      },
      // The chart's default anti-affinity keeps the servers on different nodes.
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
      networkPolicy: { enabled: false },
    },
    // Prometheus verifies the servers with the store's CA (the chart's default skips verification).
    serverTelemetry: { serviceMonitor: { enabled: a.monitoring, interval: "30s", tlsConfig: { ca: { secret: { name: a.tlsSecret, key: "ca.crt" } }, serverName: `${VAULT_NAME}-active.${a.namespace}.svc` } } },
  };
}

/** Who may reach the store once it is in the mesh. */
export interface VaultMeshInput {
  readonly trustDomain: string;
  /** External Secrets' controller: it reads the services' secrets with their own roles. */
  readonly externalSecretsPrincipal: string;
  readonly prometheusPrincipal?: string;
}

/**
 * Default deny in the store's namespace, then, at ztunnel (L4; no waypoint): External Secrets and
 * the configurator to the API port, the servers to each other (raft, forwarding), Prometheus to
 * the API port (metrics are the only path it may read without a token).
 */
export function vaultAuthorizationObjects(namespace: string, m: VaultMeshInput): K8sObject[] {
  const own = (sa: string) => `${m.trustDomain}/ns/${namespace}/sa/${sa}`;
  const rule = (principals: string[], ports: number[]) => ({ from: [{ source: { principals } }], to: [{ operation: { ports: ports.map(String) } }] });
  return [
    { apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", metadata: { name: "allow-nothing", namespace, labels: PLATFORM_LABELS }, spec: {} },
    {
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "allow-vault", namespace, labels: PLATFORM_LABELS },
      spec: {
        selector: { matchLabels: { "app.kubernetes.io/name": VAULT_NAME, component: "server" } },
        action: "ALLOW",
        rules: [
          rule([m.externalSecretsPrincipal, own(CONFIGURATOR), ...(m.prometheusPrincipal ? [m.prometheusPrincipal] : [])], [VAULT_PORT]),
          rule([own(VAULT_NAME)], [VAULT_PORT, VAULT_CLUSTER_PORT]),
        ],
      },
    },
  ];
}

/**
 * The configurator's script (the Vault CLI): wait for an unsealed store, log in with its own
 * ServiceAccount token, make sure of the KV v2 mount and the audit device, write each service's
 * policy and role, and delete the `svc-` ones no declaration asks for any more.
 */
export function configuratorScript(access: readonly ServiceStoreAccess[], platform: readonly PlatformStoreAccess[] = []): string {
  const lines = [
    "set -eu",
    // A new store is sealed, then has no Kubernetes auth and no configurator role, until the
    // bootstrap (docs/secrets.md): wait for a login however long that takes, rather than fail the
    // Job after its retries. `vault status`: 0 unsealed, 2 sealed, 1 unreachable.
    `until vault status >/dev/null 2>&1 && VAULT_TOKEN=$(vault write -field=token auth/${K8S_AUTH_MOUNT}/login role=${CONFIGURATOR} jwt=@/var/run/secrets/vault/token); do echo "waiting for the store's bootstrap (docs/secrets.md)"; sleep 15; done`,
    "export VAULT_TOKEN",
    `vault secrets list -format=json | grep -q '"${KV_MOUNT}/"' || vault secrets enable -path=${KV_MOUNT} -version=2 kv`,
    `vault audit list -format=json 2>/dev/null | grep -q '"file/"' || vault audit enable file file_path=${AUDIT_LOG_PATH}`,
  ];
  for (const a of access) {
    lines.push(`vault policy write ${a.name} - <<'EOF'\n${policyHcl(a.readPaths)}EOF`);
    lines.push(`vault write auth/${K8S_AUTH_MOUNT}/role/${a.name} ${roleArgs(a).join(" ")}`);
  }
  // The readers of the platform's own generated secrets: one per component and namespace.
  for (const a of platform) {
    lines.push(`vault policy write ${a.name} - <<'EOF'\n${policyHcl(a.readPaths)}EOF`);
    lines.push(`vault write auth/${K8S_AUTH_MOUNT}/role/${a.name} ${roleArgs(a).join(" ")}`);
  }
  const want = [...access, ...platform].map((a) => a.name).join(" ");
  const owned = `^(${SERVICE_ACCESS_PREFIX}|${PLATFORM_ACCESS_PREFIX})`;
  lines.push(
    `want=" ${want} "`,
    `for p in $(vault policy list | grep -E '${owned}' || true); do case "$want" in *" $p "*) ;; *) vault policy delete "$p" ;; esac; done`,
    `for r in $(vault list -format=json auth/${K8S_AUTH_MOUNT}/role 2>/dev/null | tr -d '[]", ' | grep -E '${owned}' || true); do case "$want" in *" $r "*) ;; *) vault delete "auth/${K8S_AUTH_MOUNT}/role/$r" ;; esac; done`,
    'echo "store configured"',
  );
  return lines.join("\n");
}

/** Inputs of the store. */
export interface VaultArgs {
  /** Its namespace (created here, Pod Security restricted). */
  readonly namespace: string;
  /** Extra labels on that namespace (the mesh's ambient enrollment). */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Raft servers (1, 3 or 5). */
  readonly replicas: number;
  readonly storageSize: string;
  readonly auditStorageSize: string;
  /** Cluster DNS domain (the certificate's names). */
  readonly domain: string;
  /** What the services may read (store-access.ts storeAccess). */
  readonly access: readonly ServiceStoreAccess[];
  /** The readers of the platform's generated secrets (platform-secrets.ts), once all are known; absent: none. */
  readonly platformAccess?: Promise<readonly PlatformStoreAccess[]>;
  /** The prometheus-operator CRDs (its ServiceMonitor); empty: no monitor. */
  readonly monitoringCrds: pulumi.Input<pulumi.Resource>[];
  /** The mesh, when on: the namespace's policies and istiod (Istio's CRDs) they wait for. */
  readonly mesh?: VaultMeshInput & { readonly istiod: pulumi.Input<pulumi.Resource> };
}

/** Vault: namespace, CA and server certificate, the chart, the mesh policies and the configurator Job. */
export class Vault extends pulumi.ComponentResource {
  public readonly namespace: pulumi.Output<string>;
  /** The store's CA certificate (public): clients verify the servers with it. */
  public readonly caCertPem: pulumi.Output<string>;
  /** The in-cluster URL clients use. */
  public readonly url: string;
  public readonly release: k8s.helm.v4.Chart;

  constructor(name: string, args: VaultArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:secrets:Vault", name, {}, opts);
    const child = { parent: this };
    const ns = platformNamespace(`${name}-namespace`, args.namespace, child, args.namespaceLabels);
    this.namespace = ns.metadata.name;
    this.url = vaultUrl(args.namespace, args.domain);
    const meta = (n: string) => ({ name: n, namespace: this.namespace, labels: PLATFORM_LABELS });

    const ca = selfSignedCa(`${name}-ca`, "vault-ca", child);
    this.caCertPem = ca.certPem;
    const server = issueCert(
      `${name}-server`,
      ca,
      {
        commonName: `${VAULT_NAME}.${args.namespace}.svc`,
        dnsNames: [
          ...serviceDnsNames(VAULT_NAME, args.namespace, args.domain),
          ...serviceDnsNames(`${VAULT_NAME}-active`, args.namespace, args.domain),
          `*.${VAULT_NAME}-internal`,
          `*.${VAULT_NAME}-internal.${args.namespace}.svc.${args.domain}`,
        ],
        // The chart's probes and CLI in the pods use https://127.0.0.1:8200.
        ipAddresses: ["127.0.0.1"],
        usage: "peer",
      },
      child,
    );
    const tls = new k8s.core.v1.Secret(
      `${name}-tls`,
      { metadata: { ...meta(`${VAULT_NAME}-tls`), annotations: { [BOOTSTRAP_ANNOTATION]: "the store's TLS" } }, type: "Opaque", stringData: pulumi.secret(pulumi.all([ca.certPem, server.certPem, server.keyPem]).apply(([c, crt, key]) => ({ "ca.crt": c, "tls.crt": crt, "tls.key": key }))) },
      { parent: this, dependsOn: [ns] },
    );

    this.release = chartRelease(
      name,
      {
        releaseName: VAULT_NAME,
        pin: charts.vault,
        namespace: this.namespace,
        values: vaultValues({ namespace: args.namespace, replicas: args.replicas, storageSize: args.storageSize, auditStorageSize: args.auditStorageSize, tlsSecret: `${VAULT_NAME}-tls`, monitoring: args.monitoringCrds.length > 0 }),
      },
      childOptions(this, opts, [tls, ...args.monitoringCrds]),
    );
    if (args.mesh) {
      for (const o of vaultAuthorizationObjects(args.namespace, args.mesh)) customResource(`${name}-${o.metadata.name}`, o, childOptions(this, opts, [args.mesh.istiod, ns]));
    }

    // The configurator: its own ServiceAccount (the bootstrap binds the configurator role to it),
    // a short-lived token for the store's audience only, the CA to verify the servers.
    const sa = new k8s.core.v1.ServiceAccount(`${name}-configurator`, { metadata: meta(CONFIGURATOR), automountServiceAccountToken: false }, { parent: this, dependsOn: [ns] });
    // The readers of the platform's generated secrets are known once every component has registered
    // its Secrets (a later turn: components/core/pacing.ts), so the script is an output.
    const script = pulumi.output(args.platformAccess ?? Promise.resolve([])).apply((platform) => configuratorScript(args.access, platform));
    const labels = { ...PLATFORM_LABELS, "app.kubernetes.io/name": CONFIGURATOR };
    new k8s.batch.v1.Job(
      `${name}-configure`,
      {
        metadata: {
          name: script.apply((s) => `${CONFIGURATOR}-${contentHash(s)}`),
          namespace: this.namespace,
          labels,
          // It waits for the bootstrap on a new store: neither `pulumi up` nor Argo CD's sync
          // waves (Application health) may block on a person. Flux's Kustomization for the store
          // does wait for it, and only the services' SecretStores depend on that one.
          annotations: { "pulumi.com/skipAwait": "true", "argocd.argoproj.io/ignore-healthcheck": "true" },
        },
        spec: {
          backoffLimit: 20,
          ttlSecondsAfterFinished: 86400,
          template: scriptPod({
            name: "configure",
            image: `${images.vault.repository}:${images.vault.tag}`,
            script,
            uid: VAULT_UID,
            labels,
            serviceAccountName: sa.metadata.name,
            env: [
              { name: "VAULT_ADDR", value: this.url },
              { name: "VAULT_CACERT", value: "/var/run/secrets/vault/ca.crt" },
            ],
            volumes: [
              {
                name: "vault",
                projected: {
                  sources: [
                    { serviceAccountToken: { audience: STORE_AUDIENCE, expirationSeconds: 600, path: "token" } },
                    { secret: { name: tls.metadata.name, items: [{ key: "ca.crt", path: "ca.crt" }] } },
                  ],
                },
              },
            ],
            mounts: [{ name: "vault", mountPath: "/var/run/secrets/vault", readOnly: true }],
          }),
        },
      },
      { parent: this, dependsOn: [this.release, sa] },
    );
    this.registerOutputs({ namespace: this.namespace, url: this.url });
  }
}
