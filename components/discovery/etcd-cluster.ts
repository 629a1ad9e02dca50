/**
 * etcd as the platform's config/discovery store: an N-member StatefulSet from the official etcd
 * image, owned here rather than taken from a chart (Bitnami's etcd chart is frozen since 2025 and
 * its images moved; see the README). Peer and client traffic is mutual TLS from a stack CA
 * (@pulumi/tls); auth is on, each client service is an etcd user named by its certificate's CN
 * with a role limited to its own key prefix.
 */
import { kubernetesSecrets } from "../shared/secret-sink";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { bytesOf, EtcdConfig } from "../../config/schema";
import { images } from "../../versions";
import { PacedComponent } from "../core/pacing";
import type { PlatformPodMonitor } from "../shared/monitoring";
import { issueCert, selfSignedCa, serviceDnsNames, tlsSecretData } from "../shared/pki";
import { platformNamespace, restrictedContainer, restrictedPod, secretEnv } from "../shared/pod-security";
import { contentHash, scriptPod } from "../shared/script-job";
import type { StoreArgs } from "./store";

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const ETCD_METRICS_PORT = 2381;
/** UID of the distroless images' `nonroot` user. */
const ETCD_UID = 65532;

/** Where an etcd cluster lives: everything its DNS names, URLs and certificates derive from. */
export interface EtcdTopology {
  /** StatefulSet name; members are `<name>-<i>`. */
  readonly name: string;
  /** Headless Service giving each member a stable DNS name. */
  readonly headless: string;
  readonly namespace: string;
  /** Cluster DNS domain (cluster.local). */
  readonly domain: string;
  /** Member count (odd). */
  readonly members: number;
  /** Kubernetes cluster name: part of the cluster token. */
  readonly clusterName: string;
}

/** Member (pod) names, in ordinal order. */
export function etcdMemberNames(t: Pick<EtcdTopology, "name" | "members">): string[] {
  return Array.from({ length: t.members }, (_, i) => `${t.name}-${i}`);
}

/** Fully qualified DNS name of member `i` through the headless Service. */
export function etcdMemberHost(t: EtcdTopology, i: number): string {
  return `${t.name}-${i}.${t.headless}.${t.namespace}.svc.${t.domain}`;
}

/** Peer URL of every member. */
export function etcdPeerUrls(t: EtcdTopology): string[] {
  return etcdMemberNames(t).map((_, i) => `https://${etcdMemberHost(t, i)}:${ETCD_PEER_PORT}`);
}

/** Client URL of every member (what clients get as their endpoint list). */
export function etcdClientUrls(t: EtcdTopology): string[] {
  return etcdMemberNames(t).map((_, i) => `https://${etcdMemberHost(t, i)}:${ETCD_CLIENT_PORT}`);
}

/** `--initial-cluster`: `<member>=<peer URL>` for every member. */
export function etcdInitialCluster(t: EtcdTopology): string {
  const urls = etcdPeerUrls(t);
  return etcdMemberNames(t).map((m, i) => `${m}=${urls[i]}`).join(",");
}

/**
 * `--initial-cluster-token`: unique per cluster so that members of two clusters that can reach each
 * other (a restored copy, another stack on the same network) never join.
 */
export function etcdClusterToken(t: EtcdTopology): string {
  return `${t.clusterName}-${t.namespace}-${t.name}`;
}

/** Subject alternative names of member `i`'s peer certificate: its headless-Service names. */
export function memberSans(t: EtcdTopology, i: number): string[] {
  const m = `${t.name}-${i}`;
  return [m, `${m}.${t.headless}`, `${m}.${t.headless}.${t.namespace}`, `${m}.${t.headless}.${t.namespace}.svc`, `${m}.${t.headless}.${t.namespace}.svc.${t.domain}`];
}

/** SANs of the client-facing server certificate: every member, the client Service, loopback. */
export function serverSans(t: EtcdTopology): string[] {
  return [...serviceDnsNames(t.name, t.namespace, t.domain), ...etcdMemberNames(t).flatMap((_, i) => memberSans(t, i)), "localhost"];
}

/** Members that must stay up for the cluster to accept writes. */
export function etcdQuorum(members: number): number {
  return Math.floor(members / 2) + 1;
}

/** Backend quota: 80% of the volume (leaves room for compaction), at most etcd's 8 GiB recommendation. */
export function etcdQuotaBytes(storage: string): number {
  return Math.min(8 * 2 ** 30, Math.floor(bytesOf(storage) * 0.8));
}

/** Key prefix a client service may read and write; `/config/` is readable by every client. */
/** The members' metrics port (--listen-metrics-urls), scraped by a PodMonitor the observability area renders. */
export function etcdPodMonitor(namespace: string, name: string): PlatformPodMonitor {
  return { name: `${name}-etcd`, namespaceSelector: { matchNames: [namespace] }, selector: { matchLabels: { "app.kubernetes.io/name": "etcd", "app.kubernetes.io/instance": name } }, podMetricsEndpoints: [{ port: "metrics" }] };
}

export const etcdClientPrefix = (service: string): string => `/services/${service}/`;

/** Inputs of the etcd cluster (`settings`: members, storage, backup, resources). */
export type EtcdClusterArgs = StoreArgs<EtcdConfig>;

/**
 * An etcd cluster: StatefulSet, headless and client Services, TLS, auth bootstrap Job, PDB, and a
 * CronJob that defragments every member and writes a snapshot to a backup volume.
 */
export class EtcdCluster extends PacedComponent<{ endpoints: string; caCertPem: pulumi.Output<string> }> {
  /** The namespace (an Output: objects placed in it wait for it). */
  public readonly namespace: pulumi.Output<string>;
  /** Comma-separated client URLs of all members. */
  public readonly endpoints: string;
  /** The cluster CA certificate (PEM) clients verify the servers with. */
  public readonly caCertPem: pulumi.Output<string>;
  /** Service name → environment from the Secret holding its endpoint and credentials. */
  public readonly clientEnv: Record<string, Record<string, k8s.types.input.core.v1.EnvVarSource>>;

  constructor(name: string, args: EtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:discovery:EtcdCluster", name, opts);
    const s = args.settings;
    if (s.members % 2 === 0) throw new pulumi.ResourceError(`platform:discovery.etcd.members: ${s.members} is even; etcd needs an odd member count`, this);
    const t: EtcdTopology = { name, headless: `${name}-headless`, namespace: args.namespace, domain: args.domain, members: s.members, clusterName: args.clusterName };
    const child = { parent: this };
    const labels = { "app.kubernetes.io/name": "etcd", "app.kubernetes.io/instance": name, "app.kubernetes.io/part-of": "platform", "app.kubernetes.io/managed-by": "pulumi" };
    const selector = { "app.kubernetes.io/name": "etcd", "app.kubernetes.io/instance": name };

    const ns = platformNamespace(`${name}-namespace`, args.namespace, child, args.namespaceLabels).metadata.name;
    this.namespace = ns;
    const meta = (objName: string) => ({ name: objName, namespace: ns, labels });
    const sink = (args.secretSinks ?? kubernetesSecrets)(this, name);
    const own = (objName: string) => ({ name: objName, namespace: args.namespace, namespaceRef: ns, labels });

    // PKI: one CA; a peer certificate per member; one server certificate; client certificates.
    const ca = selfSignedCa(`${name}-ca`, `${name} etcd CA`, child);
    const peers = etcdMemberNames(t).map((m, i) => ({ member: m, cert: issueCert(`${name}-peer-${i}`, ca, { commonName: m, dnsNames: memberSans(t, i), usage: "peer" }, child) }));
    const server = issueCert(`${name}-server`, ca, { commonName: name, dnsNames: serverSans(t), ipAddresses: ["127.0.0.1"], usage: "server" }, child);
    // CN root: with auth on, etcd takes the user from the client certificate's CN.
    const rootClient = issueCert(`${name}-root-client`, ca, { commonName: "root", usage: "client" }, child);
    const rootPassword = new random.RandomPassword(`${name}-root-password`, { length: 32, special: false }, child);

    const serverTls = sink.secret(`${name}-server-tls`, { ...own(`${name}-server-tls`), data: tlsSecretData(ca, server) }, child);
    const peerTls = sink.secret(
      `${name}-peer-tls`,
      {
        ...own(`${name}-peer-tls`),
        // One Secret for all members: each pod picks its own pair by its name.
        data: pulumi.secret(pulumi.all([ca.certPem, ...peers.flatMap((p) => [p.cert.certPem, p.cert.keyPem])]).apply(([c, ...pems]) => ({
          "ca.crt": c!,
          ...Object.fromEntries(peers.flatMap((p, i) => [[`${p.member}.crt`, pems[2 * i]!], [`${p.member}.key`, pems[2 * i + 1]!]])),
        }))),
      },
      child,
    );
    const rootSecret = sink.secret(`${name}-root`, { ...own(`${name}-root`), data: { username: "root", password: rootPassword.result } }, child);
    const rootClientTls = sink.secret(`${name}-root-client-tls`, { ...own(`${name}-root-client-tls`), data: tlsSecretData(ca, rootClient) }, child);

    const ports = [
      { name: "client", port: ETCD_CLIENT_PORT, targetPort: "client", protocol: "TCP" },
      { name: "peer", port: ETCD_PEER_PORT, targetPort: "peer", protocol: "TCP" },
      { name: "metrics", port: ETCD_METRICS_PORT, targetPort: "metrics", protocol: "TCP" },
    ];
    const headless = new k8s.core.v1.Service(
      t.headless,
      // Members must resolve each other before they are ready: that is how the cluster forms.
      { metadata: meta(t.headless), spec: { clusterIP: "None", publishNotReadyAddresses: true, selector, ports } },
      child,
    );
    new k8s.core.v1.Service(name, { metadata: meta(name), spec: { type: "ClusterIP", selector, ports: ports.filter((p) => p.name !== "peer") } }, child);
    const sa = new k8s.core.v1.ServiceAccount(name, { metadata: meta(name), automountServiceAccountToken: false }, child);

    const memberHost = `$(POD_NAME).${t.headless}.${t.namespace}.svc.${t.domain}`;
    const flags = [
      "--name=$(POD_NAME)",
      "--data-dir=/var/lib/etcd/data",
      `--listen-peer-urls=https://0.0.0.0:${ETCD_PEER_PORT}`,
      `--listen-client-urls=https://0.0.0.0:${ETCD_CLIENT_PORT}`,
      `--listen-metrics-urls=http://0.0.0.0:${ETCD_METRICS_PORT}`,
      `--advertise-client-urls=https://${memberHost}:${ETCD_CLIENT_PORT}`,
      `--initial-advertise-peer-urls=https://${memberHost}:${ETCD_PEER_PORT}`,
      `--initial-cluster=${etcdInitialCluster(t)}`,
      `--initial-cluster-token=${etcdClusterToken(t)}`,
      "--initial-cluster-state=new",
      "--client-cert-auth=true",
      "--trusted-ca-file=/etc/etcd/tls/ca.crt",
      "--cert-file=/etc/etcd/tls/tls.crt",
      "--key-file=/etc/etcd/tls/tls.key",
      "--peer-client-cert-auth=true",
      "--peer-trusted-ca-file=/etc/etcd/peer/ca.crt",
      "--peer-cert-file=/etc/etcd/peer/$(POD_NAME).crt",
      "--peer-key-file=/etc/etcd/peer/$(POD_NAME).key",
      "--auto-compaction-mode=periodic",
      "--auto-compaction-retention=1h",
      `--quota-backend-bytes=${etcdQuotaBytes(s.storage)}`,
      "--logger=zap",
      "--log-outputs=stderr",
    ];
    const health = (path: string) => ({ httpGet: { path, port: "metrics" }, periodSeconds: 10, timeoutSeconds: 5 });
    const spread: k8s.types.input.core.v1.TopologySpreadConstraint[] = args.zones
      ? [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: selector } }]
      : [];
    const sts = new k8s.apps.v1.StatefulSet(
      name,
      {
        metadata: meta(name),
        spec: {
          serviceName: headless.metadata.name,
          replicas: s.members,
          // All members must start together: none is ready until a quorum has formed.
          podManagementPolicy: "Parallel",
          updateStrategy: { type: "RollingUpdate" },
          persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
          selector: { matchLabels: selector },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: sa.metadata.name,
              automountServiceAccountToken: false,
              securityContext: restrictedPod(ETCD_UID),
              // Two members on one node would lose quorum together.
              affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: selector } }] } },
              topologySpreadConstraints: spread,
              terminationGracePeriodSeconds: 30,
              containers: [
                {
                  name: "etcd",
                  image: `${images.etcd.repository}:${images.etcd.tag}`,
                  imagePullPolicy: "IfNotPresent",
                  command: ["/usr/local/bin/etcd"],
                  args: flags,
                  env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
                  ports: [
                    { name: "client", containerPort: ETCD_CLIENT_PORT },
                    { name: "peer", containerPort: ETCD_PEER_PORT },
                    { name: "metrics", containerPort: ETCD_METRICS_PORT },
                  ],
                  startupProbe: { ...health("/readyz"), failureThreshold: 30 },
                  readinessProbe: { ...health("/readyz"), failureThreshold: 3 },
                  livenessProbe: { ...health("/livez"), failureThreshold: 8 },
                  resources: { requests: { cpu: s.resources.requests.cpu, memory: s.resources.requests.memory }, limits: { memory: s.resources.limits.memory } },
                  securityContext: restrictedContainer(),
                  volumeMounts: [
                    { name: "data", mountPath: "/var/lib/etcd" },
                    { name: "server-tls", mountPath: "/etc/etcd/tls", readOnly: true },
                    { name: "peer-tls", mountPath: "/etc/etcd/peer", readOnly: true },
                  ],
                },
              ],
              volumes: [
                { name: "server-tls", secret: { secretName: serverTls.metadata.name, defaultMode: 0o440 } },
                { name: "peer-tls", secret: { secretName: peerTls.metadata.name, defaultMode: 0o440 } },
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: "data", labels },
              spec: { accessModes: ["ReadWriteOnce"], ...(args.storageClass ? { storageClassName: args.storageClass } : {}), resources: { requests: { storage: s.storage } } },
            },
          ],
        },
      },
      child,
    );

    if (s.members >= 3) {
      // Voluntary evictions may never take the cluster below quorum.
      new k8s.policy.v1.PodDisruptionBudget(name, { metadata: meta(name), spec: { minAvailable: etcdQuorum(s.members), selector: { matchLabels: selector } } }, child);
    }

    // The etcd image is distroless (no shell): Jobs copy a static busybox into an emptyDir first.
    const tools = toolsInit();
    const etcdctlEnv = [
      { name: "ETCDCTL_CACERT", value: "/etc/etcd/client/ca.crt" },
      { name: "ETCDCTL_CERT", value: "/etc/etcd/client/tls.crt" },
      { name: "ETCDCTL_KEY", value: "/etc/etcd/client/tls.key" },
      { name: "ETCDCTL_ENDPOINTS", value: etcdClientUrls(t).join(",") },
      { name: "PATH", value: "/usr/local/bin:/tools" },
    ];
    const jobPod = (script: string, extra: { env?: k8s.types.input.core.v1.EnvVar[]; volumes?: k8s.types.input.core.v1.Volume[]; mounts?: k8s.types.input.core.v1.VolumeMount[] }) =>
      scriptPod({
        name: "etcdctl",
        image: `${images.etcd.repository}:${images.etcd.tag}`,
        shell: "/tools/sh",
        script,
        uid: ETCD_UID,
        // Not the members' name label: the members' selector (anti-affinity, spread, PDB, Services)
        // must not pick these pods, or the members' hostname anti-affinity repels the Jobs that
        // serve them (unschedulable on a cluster with as many nodes as members).
        labels: { ...labels, "app.kubernetes.io/name": "etcd-maintenance", "app.kubernetes.io/component": "maintenance" },
        initContainers: [tools.container],
        env: [...etcdctlEnv, ...(extra.env ?? [])],
        volumes: [tools.volume, { name: "client-tls", secret: { secretName: rootClientTls.metadata.name, defaultMode: 0o440 } }, ...(extra.volumes ?? [])],
        mounts: [tools.mount, { name: "client-tls", mountPath: "/etc/etcd/client", readOnly: true }, ...(extra.mounts ?? [])],
        memory: "256Mi",
      });

    // Auth bootstrap: root user, a role and a user per client service, then auth on. Idempotent;
    // its name carries a hash of the client list, so a changed list runs it again.
    const clientNames = args.clients.map((c) => c.service).sort();
    const script = etcdAuthScript(clientNames);
    const hash = contentHash(script);
    new k8s.batch.v1.Job(
      `${name}-auth`,
      {
        metadata: meta(`${name}-auth-${hash}`),
        spec: {
          backoffLimit: 10,
          template: jobPod(script, { env: [{ name: "ROOT_PASSWORD", valueFrom: { secretKeyRef: { name: rootSecret.metadata.name, key: "password" } } }] }),
        },
      },
      // The Job talks to the members: it needs the StatefulSet ready.
      { parent: this, dependsOn: [sts] },
    );

    // Defragment each member in turn, then snapshot to the backup volume and prune old snapshots.
    const backup = new k8s.core.v1.PersistentVolumeClaim(
      `${name}-backup`,
      { metadata: meta(`${name}-backup`), spec: { accessModes: ["ReadWriteOnce"], ...(args.storageClass ? { storageClassName: args.storageClass } : {}), resources: { requests: { storage: s.backupStorage } } } },
      child,
    );
    new k8s.batch.v1.CronJob(
      `${name}-maintenance`,
      {
        metadata: meta(`${name}-maintenance`),
        spec: {
          schedule: s.backupSchedule,
          concurrencyPolicy: "Forbid",
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            spec: {
              backoffLimit: 2,
              template: jobPod(etcdMaintenanceScript(s.backupKeep), {
                env: [{ name: "SNAPSHOT_ENDPOINT", value: `https://${name}.${t.namespace}.svc.${t.domain}:${ETCD_CLIENT_PORT}` }],
                volumes: [{ name: "backup", persistentVolumeClaim: { claimName: backup.metadata.name } }],
                mounts: [{ name: "backup", mountPath: "/backup" }],
              }),
            },
          },
        },
      },
      child,
    );

    // One Secret per client service, in the service's namespace: endpoints, CA, its certificate.
    this.endpoints = etcdClientUrls(t).join(",");
    this.caCertPem = ca.certPem;
    this.clientEnv = {};
    for (const c of args.clients) {
      // One client's certificate and Secret per turn (components/core/pacing.ts).
      const credentials = this.item(() => {
        const cert = issueCert(`${name}-client-${c.service}`, ca, { commonName: c.service, usage: "client" }, child);
        const secret = sink.secret(
          `${name}-client-${c.service}`,
          {
            name: `${c.service}-etcd`,
            namespace: c.namespaceName,
            namespaceRef: c.namespace,
            labels: { ...labels, "app.kubernetes.io/component": "client-credentials" },
            data: pulumi.secret(
              tlsSecretData(ca, cert).apply((tlsKeys) => ({ endpoints: this.endpoints, username: c.service, prefix: etcdClientPrefix(c.service), ...tlsKeys })),
            ),
          },
          child,
        );
        return secret.metadata.name;
      });
      this.clientEnv[c.service] = secretEnv(pulumi.output(credentials), ETCD_CLIENT_ENV);
    }
    this.later(() => ({ endpoints: this.endpoints, caCertPem: this.caCertPem }));
  }
}

/** Environment a client service receives, each from a key of its `<service>-etcd` Secret. */
export const ETCD_CLIENT_ENV: Readonly<Record<string, string>> = {
  ETCD_ENDPOINTS: "endpoints",
  ETCD_USERNAME: "username",
  ETCD_KEY_PREFIX: "prefix",
  ETCD_CA_PEM: "ca.crt",
  ETCD_CERT_PEM: "tls.crt",
  ETCD_KEY_PEM: "tls.key",
};

/** The auth bootstrap script: idempotent, safe to run again on a cluster that has auth on. */
export function etcdAuthScript(clients: readonly string[]): string {
  const lines = [
    "set -eu",
    'etcdctl user get root >/dev/null 2>&1 || etcdctl user add root --new-user-password="$ROOT_PASSWORD" --interactive=false',
    // Auth can only be enabled once root holds the root role.
    "etcdctl role get root >/dev/null 2>&1 || etcdctl role add root",
    `${hasRole("root", "root")} || etcdctl user grant-role root root`,
    "etcdctl role get reader >/dev/null 2>&1 || etcdctl role add reader",
    "etcdctl role grant-permission reader read --prefix=true /config/",
  ];
  for (const c of clients) {
    lines.push(
      `etcdctl role get ${c} >/dev/null 2>&1 || etcdctl role add ${c}`,
      `etcdctl role grant-permission ${c} readwrite --prefix=true ${etcdClientPrefix(c)}`,
      // No password: the user authenticates with its client certificate (CN = user name).
      `etcdctl user get ${c} >/dev/null 2>&1 || etcdctl user add ${c} --no-password`,
      `${hasRole(c, c)} || etcdctl user grant-role ${c} ${c}`,
      `${hasRole(c, "reader")} || etcdctl user grant-role ${c} reader`,
    );
  }
  lines.push("etcdctl auth enable");
  return lines.join("\n");
}

/** A shell test: does `user` hold `role`? (JSON output lists the roles as quoted strings.) */
const hasRole = (user: string, role: string) => `etcdctl -w json user get ${user} | grep -q '"roles":\\[[^]]*"${role}"'`;

/** Defrag every member one at a time, snapshot, keep the newest `keep` snapshots. */
export function etcdMaintenanceScript(keep: number): string {
  return [
    "set -eu",
    // Endpoints by environment, never by flag: etcdctl refuses a flag that shadows its ETCDCTL_* variable.
    'for ep in $(echo "$ETCDCTL_ENDPOINTS" | tr , " "); do ETCDCTL_ENDPOINTS="$ep" etcdctl defrag; done',
    "ts=$(date -u +%Y%m%dT%H%M%SZ)",
    // Write under a temporary name: a half-written snapshot never looks like a backup.
    // A snapshot comes from exactly one member: whichever the client Service picks.
    'ETCDCTL_ENDPOINTS="$SNAPSHOT_ENDPOINT" etcdctl snapshot save "/backup/etcd-$ts.db.part"',
    'mv "/backup/etcd-$ts.db.part" "/backup/etcd-$ts.db"',
    `ls -1t /backup/etcd-*.db | tail -n +${keep + 1} | xargs -r rm -f`,
  ].join("\n");
}

/** An init container that copies a static busybox (and applet links) into /tools. */
function toolsInit(): { container: k8s.types.input.core.v1.Container; volume: k8s.types.input.core.v1.Volume; mount: k8s.types.input.core.v1.VolumeMount } {
  const mount = { name: "tools", mountPath: "/tools" };
  const applets = ["sh", "date", "ls", "tail", "xargs", "rm", "mv", "tr", "echo", "grep"];
  return {
    mount,
    volume: { name: "tools", emptyDir: { sizeLimit: "16Mi" } },
    container: {
      name: "tools",
      image: `${images.busybox.repository}:${images.busybox.tag}`,
      command: ["/bin/sh", "-c", `cp /bin/busybox /tools/busybox && for a in ${applets.join(" ")}; do ln -sf busybox /tools/$a; done`],
      resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
      securityContext: restrictedContainer(),
      volumeMounts: [mount],
    },
  };
}
