import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { childOptions } from "../core/objects";
import { PacedComponent } from "../core/pacing";
import { LABEL_SERVICE } from "../shared/labels";
import type { ExtraVolume, ServiceConfig } from "../../config/schema";

/** Inputs of a Microservice. The declaration is already parsed and defaulted by the config schema. */
export interface MicroserviceArgs {
  /** Namespace to run in; pass the Namespace's output so the service waits for it. */
  readonly namespace: pulumi.Input<string>;
  /** The service's declaration from `platform:services.<name>`. */
  readonly spec: ServiceConfig;
  /** Stack environment, written to `deployment.environment` in the OTel resource attributes. */
  readonly environment: "dev" | "prod";
  /** OTLP endpoint of the collector; absent when nothing receives telemetry (the SDK is then disabled). */
  readonly otlpEndpoint?: string;
  /** Spread replicas across zones too (the cluster has zones). */
  readonly spreadAcrossZones: boolean;
  /** Environment from Secret/ConfigMap references that other areas provide (store credentials, Kafka). */
  readonly extraEnv?: Readonly<Record<string, k8s.types.input.core.v1.EnvVarSource>>;
  /**
   * The Secret External Secrets writes from the store (the service's `secrets`): its `as: env`
   * entries become variables, its `as: file` entries files under STORE_SECRET_DIR. Pass the
   * Secret name as the ExternalSecret's output, so the Deployments wait for it.
   */
  readonly storeSecret?: pulumi.Input<string>;
  /**
   * What pods must be admitted after (the admission policies): only the Deployments wait for it,
   * the Service, ServiceAccount, HPA and PDB do not create pods.
   */
  readonly admittedAfter?: pulumi.Input<pulumi.Resource>[];
}

/** Where a service's `as: file` store secrets are mounted, one file per name. */
export const STORE_SECRET_DIR = "/var/run/secrets/platform";

/** Label keys the platform puts on every workload; `track` separates stable from canary pods. */
export const LABEL_NAME = "app.kubernetes.io/name";
export const LABEL_TRACK = "platform.io/track";

/** Same value as LABEL_NAME on every pod of a service; Flagger renames LABEL_NAME on its primary, not this one. */
export const LABEL_INSTANCE = "app.kubernetes.io/instance";

type Track = "stable" | "canary";

/**
 * A service wired into the platform with secure defaults: its own ServiceAccount (its mesh
 * identity), a Deployment, a Service, an autoscaler and a
 * disruption budget, and (when declared) a canary Deployment and Service for weighted routing.
 */
export class Microservice extends PacedComponent<MicroserviceOutputs> {
  /** Port of the Service. */
  public readonly port: number;
  private readonly canary: boolean;
  private readonly progressive: boolean;

  constructor(name: string, args: MicroserviceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:workloads:Microservice", name, opts);
    this.port = args.spec.port;
    this.canary = args.spec.expose?.canary !== undefined;
    this.progressive = progressive(args.spec);
    this.later(() => this.objects(name, args, opts));
  }

  // The objects are built a turn later (components/core/pacing.ts): these resolve once they exist.
  // Getters, so a stack of N services does not create 3N Outputs nobody reads.

  /** Name of the stable Service (the in-cluster address other services call); Flagger's apex Service under a progressive rollout. */
  public get serviceName(): pulumi.Output<string> {
    return this.built("serviceName") as pulumi.Output<string>;
  }

  /** Name of the canary Service, when a canary is declared. */
  public get canaryServiceName(): pulumi.Output<string> | undefined {
    return this.canary ? (this.built("canaryServiceName") as pulumi.Output<string>) : undefined;
  }

  /** The ServiceAccount the pods run as (the SPIFFE identity in the mesh). */
  public get serviceAccountName(): pulumi.Output<string> {
    return this.built("serviceAccountName") as pulumi.Output<string>;
  }

  private objects(name: string, args: MicroserviceArgs, opts: pulumi.ComponentResourceOptions | undefined): MicroserviceOutputs {
    const s = args.spec;
    const ns = args.namespace;
    const portName = s.protocol === "grpc" ? "grpc" : "http";

    const sa = new k8s.core.v1.ServiceAccount(
      name,
      {
        metadata: { name, namespace: ns, labels: baseLabels(name, s.version) },
        // No API token in the pod unless the service talks to the API server.
        automountServiceAccountToken: s.serviceAccountToken,
      },
      childOptions(this, opts),
    );

    const tracks: { track: Track; image: string; version: string; objName: string }[] = [
      { track: "stable", image: s.image, version: s.version, objName: name },
    ];
    const canary = s.expose?.canary;
    if (canary) tracks.push({ track: "canary", image: canary.image, version: canary.version, objName: `${name}-canary` });

    const services: Record<Track, k8s.core.v1.Service | undefined> = { stable: undefined, canary: undefined };
    // Progressive (Flagger): one Deployment, the canary Flagger copies to <name>-primary, renaming
    // app.kubernetes.io/name there (FLAGGER_SELECTOR_LABEL); the selector is the fixed strategy's,
    // so a switch changes no immutable field. Spreading and the PDB select the instance label,
    // which primary and canary share.
    const flagger = this.progressive;
    const storeFiles = Object.keys(s.secrets).filter((k) => s.secrets[k]!.as === "file").sort();
    const volumes = [
      ...extraVolumes(s.pod.volumes),
      ...s.writablePaths.map((_, i) => ({ name: `writable-${i}`, emptyDir: {} })),
      // Only the file entries' keys: the env entries stay out of the filesystem.
      ...(args.storeSecret && storeFiles.length ? [{ name: "store-secrets", secret: { secretName: args.storeSecret, defaultMode: 0o440, items: storeFiles.map((k) => ({ key: k, path: k })) } }] : []),
    ];
    for (const t of tracks) {
      const labels: Record<string, string> = { ...baseLabels(name, t.version), [LABEL_TRACK]: t.track };
      const selector: Record<string, string> = { [LABEL_NAME]: name, [LABEL_TRACK]: t.track };
      // Pods of this workload and, under Flagger, of its primary copy too.
      const identity: Record<string, string> = flagger ? { [LABEL_INSTANCE]: name } : selector;
      const podSpec: k8s.types.input.core.v1.PodSpec = {
        serviceAccountName: sa.metadata.name,
        automountServiceAccountToken: s.serviceAccountToken,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: s.runAsUser,
          runAsGroup: s.runAsUser,
          fsGroup: s.runAsUser,
          seccompProfile: { type: "RuntimeDefault" },
        },
        topologySpreadConstraints: spreadConstraints(identity, args.spreadAcrossZones),
        // The declaration's escape hatches (services.<name>.pod), each only when given.
        ...(Object.keys(s.pod.nodeSelector).length ? { nodeSelector: { ...s.pod.nodeSelector } } : {}),
        ...(s.pod.tolerations.length ? { tolerations: s.pod.tolerations.map((t) => ({ ...t })) } : {}),
        ...(s.pod.imagePullSecrets.length ? { imagePullSecrets: s.pod.imagePullSecrets.map((n) => ({ name: n })) } : {}),
        ...(s.pod.affinity ? { affinity: s.pod.affinity } : {}),
        // The root filesystem is read-only: declared writable paths get their own emptyDir.
        ...(volumes.length ? { volumes } : {}),
        containers: [
          {
            name: "app",
            image: t.image,
            imagePullPolicy: "IfNotPresent",
            ports: [{ name: portName, containerPort: s.port }],
            env: Object.entries(containerEnv(name, t.version, args, s)).map(([k, v]) => (typeof v === "string" ? { name: k, value: v } : { name: k, valueFrom: v })),
            ...(s.pod.envFrom.length ? { envFrom: s.pod.envFrom.map((e) => ({ ...(e.secret ? { secretRef: { name: e.secret } } : { configMapRef: { name: e.configMap! } }), ...(e.prefix ? { prefix: e.prefix } : {}) })) } : {}),
            resources: {
              requests: { cpu: s.resources.requests.cpu, memory: s.resources.requests.memory },
              limits: { memory: s.resources.limits.memory, ...(s.resources.limits.cpu ? { cpu: s.resources.limits.cpu } : {}) },
            },
            readinessProbe: probe(s, s.probes.readinessPath, portName),
            livenessProbe: { ...probe(s, s.probes.livenessPath, portName), failureThreshold: 3, periodSeconds: 10 },
            securityContext: {
              runAsNonRoot: true,
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ["ALL"] },
              seccompProfile: { type: "RuntimeDefault" },
            },
            volumeMounts: [
              // Extra volumes (services.<name>.pod.volumes): read-only unless they say otherwise; emptyDir is scratch space.
              ...Object.entries(s.pod.volumes).map(([vol, v]) => ({ name: vol, mountPath: v.mountPath, readOnly: v.emptyDir ? false : (v.readOnly ?? true), ...(v.subPath ? { subPath: v.subPath } : {}) })),
              ...s.writablePaths.map((p, i) => ({ name: `writable-${i}`, mountPath: p })),
              ...(args.storeSecret && storeFiles.length ? [{ name: "store-secrets", mountPath: STORE_SECRET_DIR, readOnly: true }] : []),
            ],
          },
        ],
      };

      const replicas = t.track === "stable" ? s.replicas.min : (canary?.replicas ?? 1);
      const deployment = new k8s.apps.v1.Deployment(
        t.objName,
        {
          metadata: { name: t.objName, namespace: ns, labels },
          spec: {
            // The stable track's HPA owns its scale: a replicas field here would reset it on every
            // apply (Kubernetes HPA docs, "Migrating Deployments and StatefulSets to horizontal autoscaling").
            ...(t.track === "stable" ? {} : { replicas }),
            revisionHistoryLimit: 5,
            selector: { matchLabels: selector },
            // Never drop below the desired count during a rollout.
            strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } },
            // The stack's own pod labels and annotations beside the platform's (config refuses its keys).
            template: { metadata: { labels: { ...s.pod.labels, ...labels }, ...(Object.keys(s.pod.annotations).length ? { annotations: { ...s.pod.annotations } } : {}) }, spec: podSpec },
          },
        },
        childOptions(this, opts, args.admittedAfter ?? []),
      );

      // Flagger makes the Services (<name>, -primary, -canary) from the Canary's service spec.
      if (!flagger) services[t.track] = new k8s.core.v1.Service(
        t.objName,
        {
          metadata: { name: t.objName, namespace: ns, labels },
          spec: {
            type: "ClusterIP",
            selector,
            ports: [
              {
                name: portName,
                port: s.port,
                targetPort: portName,
                protocol: "TCP",
                appProtocol: s.protocol === "grpc" ? "kubernetes.io/h2c" : "http",
              },
            ],
          },
        },
        childOptions(this, opts),
      );

      if (t.track === "stable") {
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(
          t.objName,
          {
            metadata: { name: t.objName, namespace: ns, labels },
            spec: {
              scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
              minReplicas: s.replicas.min,
              maxReplicas: s.replicas.max,
              metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: s.targetCpuUtilizationPercent } } }],
            },
          },
          childOptions(this, opts),
        );
      }
      if (replicas > 1 || t.track === "stable") {
        // maxUnavailable 1 keeps drains possible at one replica and protects quorum-free services above it.
        new k8s.policy.v1.PodDisruptionBudget(
          t.objName,
          { metadata: { name: t.objName, namespace: ns, labels }, spec: { maxUnavailable: 1, selector: { matchLabels: identity } } },
          childOptions(this, opts),
        );
      }
    }

    return {
      serviceName: services.stable ? services.stable.metadata.name : pulumi.output(name),
      ...(services.canary ? { canaryServiceName: services.canary.metadata.name } : {}),
      serviceAccountName: sa.metadata.name,
      port: s.port,
    };
  }
}

/** What a Microservice registers as its outputs. */
export interface MicroserviceOutputs extends Record<string, unknown> {
  readonly serviceName: pulumi.Output<string>;
  readonly canaryServiceName?: pulumi.Output<string>;
  readonly serviceAccountName: pulumi.Output<string>;
  readonly port: number;
}

function baseLabels(name: string, version: string): Record<string, string> {
  return {
    [LABEL_NAME]: name,
    "app.kubernetes.io/instance": name,
    [LABEL_SERVICE]: name,
    "app.kubernetes.io/version": version,
    "app.kubernetes.io/part-of": "platform",
    "app.kubernetes.io/managed-by": "pulumi",
  };
}

/** The pod volumes of services.<name>.pod.volumes (their mounts are on the app container). */
function extraVolumes(volumes: Record<string, ExtraVolume>): k8s.types.input.core.v1.Volume[] {
  return Object.entries(volumes).map(([name, v]) => ({
    name,
    ...(v.secret ? { secret: { secretName: v.secret.name, ...(v.secret.items ? { items: v.secret.items } : {}) } } : {}),
    ...(v.configMap ? { configMap: { name: v.configMap.name, ...(v.configMap.items ? { items: v.configMap.items } : {}) } } : {}),
    ...(v.persistentVolumeClaim ? { persistentVolumeClaim: { claimName: v.persistentVolumeClaim.claimName, readOnly: v.readOnly ?? true } } : {}),
    ...(v.emptyDir ? { emptyDir: { ...v.emptyDir } } : {}),
  }));
}

function spreadConstraints(selector: Record<string, string>, zones: boolean): k8s.types.input.core.v1.TopologySpreadConstraint[] {
  const keys = ["kubernetes.io/hostname", ...(zones ? ["topology.kubernetes.io/zone"] : [])];
  // ScheduleAnyway: spreading is a preference; a full node must not block a rollout.
  return keys.map((topologyKey) => ({ maxSkew: 1, topologyKey, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } }));
}

function probe(s: ServiceConfig, path: string, portName: string): k8s.types.input.core.v1.Probe {
  const base = { initialDelaySeconds: s.probes.initialDelaySeconds, periodSeconds: 5, timeoutSeconds: 2 };
  // gRPC services answer the standard gRPC health protocol; HTTP services a plain GET.
  return s.protocol === "grpc" ? { ...base, grpc: { port: s.port } } : { ...base, httpGet: { path, port: portName } };
}

function containerEnv(name: string, version: string, args: MicroserviceArgs, s: ServiceConfig): Record<string, string | k8s.types.input.core.v1.EnvVarSource> {
  return {
    ...s.env,
    // The service's own Secrets by reference (config refuses names the platform sets below).
    ...Object.fromEntries(Object.entries(s.secretEnv).map(([k, ref]) => [k, { secretKeyRef: { name: ref.secret, key: ref.key } }])),
    // Store secrets (`secrets`, as: env) from the Secret External Secrets keeps in sync, keyed by name.
    ...(args.storeSecret ? Object.fromEntries(Object.entries(s.secrets).filter(([, v]) => v.as === "env").map(([k]) => [k, { secretKeyRef: { name: args.storeSecret!, key: k } }])) : {}),
    OTEL_SERVICE_NAME: name,
    ...(args.otlpEndpoint
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: args.otlpEndpoint,
          // The endpoint is the collector's OTLP/gRPC port; SDKs that default to HTTP would fail on it.
          OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        }
      : // No collector: exporting to the default localhost endpoint would only fail, on every span.
        { OTEL_SDK_DISABLED: "true" }),
    OTEL_RESOURCE_ATTRIBUTES: `service.version=${version},deployment.environment=${args.environment},service.namespace=${s.namespace}`,
    ...(args.extraEnv ?? {}),
  };
}

/** Whether Flagger rolls the service out (rollout.strategy progressive; config refuses it without an exposure). */
export function progressive(s: ServiceConfig): boolean {
  return s.rollout.strategy === "progressive";
}
