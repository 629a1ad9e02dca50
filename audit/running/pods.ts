/**
 * The running platform: every object the render applies (the program's and every chart's), and
 * every pod that will exist once controllers have acted on them. Pure functions over plain objects.
 *
 * Pods come from the rendered workloads (a CronJob's pods are its jobTemplate's) and from what
 * controllers create from rendered objects, reconstructed from the pinned controller's own
 * template or code, field by field (docs/render.md "The running platform" cites each source):
 * - istiod: one waypoint Deployment per Gateway of class istio-waypoint, from the istiod chart's
 *   `waypoint` template with the values istiod reads at run time (ConfigMap istio-sidecar-injector,
 *   key `values`);
 * - Envoy Gateway: one Envoy Deployment per Gateway of its class, from the EnvoyProxy the Gateway or
 *   its class references, over the defaults of internal/infrastructure/kubernetes/proxy (v1.8.3);
 * - Strimzi: one pod per KafkaNodePool replica and the entity operator, with the restricted pod
 *   security provider when the operator runs with it (RestrictedPodSecurityProvider, 1.2.0);
 * - Flagger: the `<target>-primary` Deployment of each Canary, when the object list holds what
 *   Flagger makes (audit/running/flagger.ts flaggerObjects; its pods are told by their owner).
 */
import { parse as parseYaml } from "yaml";
import { Obj, podTemplate, typeToken } from "../../policy/k8s";

/** A Kubernetes object as the API server receives it (plain values, secrets unwrapped). */
export interface LiveObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly [field: string]: any;
}

/** A set of identical pods: one workload's, or one a controller creates. */
export interface PodSet {
  /** `Kind namespace/name` of the workload (or of the object the controller acts on). */
  readonly id: string;
  /** Workload kind: Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod, or what a controller makes. */
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Pods at the desired scale (the HPA's minimum when an HPA owns the count); "node" for a DaemonSet (one per node). */
  readonly replicas: number | "node";
  readonly metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  readonly spec: Obj;
  /** Who creates these pods: "rendered" (a workload in the render), or the controller and its template. */
  readonly source: string;
  /** The chart whose template holds the workload, when one does. */
  readonly chart?: string;
}

/** Lookups over one render's objects, built once per object list (a 1000-service render has ~20k objects). */
export interface ObjectIndex {
  /** Every object of a kind. */
  kind(kind: string): readonly LiveObject[];
  /** Every object of a kind in a namespace. */
  inNs(kind: string, ns: string): readonly LiveObject[];
  get(kind: string, ns: string, name: string): LiveObject | undefined;
  /** A namespace's labels, with the kubernetes.io/metadata.name label the API server adds. */
  nsLabels(ns: string): Record<string, string>;
}

const indexes = new WeakMap<readonly LiveObject[], ObjectIndex>();

export function indexOf(objects: readonly LiveObject[]): ObjectIndex {
  const hit = indexes.get(objects);
  if (hit) return hit;
  const byKind = new Map<string, LiveObject[]>();
  const byKindNs = new Map<string, LiveObject[]>();
  const byKey = new Map<string, LiveObject>();
  const push = (m: Map<string, LiveObject[]>, k: string, o: LiveObject) => {
    const l = m.get(k);
    if (l) l.push(o);
    else m.set(k, [o]);
  };
  for (const o of objects) {
    const ns = o.metadata.namespace ?? "";
    push(byKind, o.kind, o);
    push(byKindNs, `${o.kind}\0${ns}`, o);
    byKey.set(`${o.kind}\0${ns}\0${o.metadata.name}`, o);
  }
  const index: ObjectIndex = {
    kind: (k) => byKind.get(k) ?? [],
    inNs: (k, ns) => byKindNs.get(`${k}\0${ns}`) ?? [],
    get: (k, ns, name) => byKey.get(`${k}\0${ns}\0${name}`),
    nsLabels: (ns) => ({ "kubernetes.io/metadata.name": ns, ...(byKey.get(`Namespace\0\0${ns}`)?.metadata.labels ?? {}) }),
  };
  indexes.set(objects, index);
  return index;
}

/** Plain view of an object's namespace ("" for cluster-scoped). */
export const nsOf = (o: LiveObject): string => o.metadata.namespace ?? "";
/** `Kind namespace/name`, the way findings name an object. */
export const idOf = (o: { kind: string; metadata: { name: string; namespace?: string } }): string =>
  `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;

/** Whether Flagger made this object (its controller reference names a Canary: audit/running/flagger.ts). */
export function madeByFlagger(o: LiveObject): Obj | undefined {
  return ((o.metadata as Obj)["ownerReferences"] as Obj[] | undefined)?.find((r) => r["kind"] === "Canary" && String(r["apiVersion"]).startsWith("flagger.app/"));
}

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"]);

/** Whether an HPA scales this workload, and its minimum. */
export function hpaFor(objects: readonly LiveObject[], w: LiveObject): LiveObject | undefined {
  return indexOf(objects)
    .inNs("HorizontalPodAutoscaler", nsOf(w))
    .find((h) => h["spec"]?.scaleTargetRef?.kind === w.kind && h["spec"]?.scaleTargetRef?.name === w.metadata.name);
}

/** The pods of the rendered workloads. */
export function renderedPods(objects: readonly LiveObject[], chartOf: (o: LiveObject) => string | undefined = () => undefined): PodSet[] {
  const out: PodSet[] = [];
  for (const o of objects) {
    if (!WORKLOAD_KINDS.has(o.kind)) continue;
    const t = podTemplate(typeToken(o.apiVersion, o.kind), o);
    if (!t) continue;
    const hpa = hpaFor(objects, o);
    const spec = o["spec"] ?? {};
    const replicas: number | "node" =
      o.kind === "DaemonSet" ? "node" : o.kind === "Pod" ? 1 : o.kind === "Job" || o.kind === "CronJob" ? Number((o.kind === "CronJob" ? spec.jobTemplate?.spec : spec)?.parallelism ?? 1) : Number(spec.replicas ?? hpa?.["spec"]?.minReplicas ?? 1);
    const chart = chartOf(o);
    // Flagger's primary copy (audit/running/flagger.ts) carries the controller reference Flagger sets.
    const canaryOwner = madeByFlagger(o);
    out.push({
      id: idOf(o),
      kind: o.kind,
      namespace: nsOf(o) || "default",
      name: o.metadata.name,
      replicas,
      metadata: { labels: { ...(t.metadata["labels"] ?? {}) }, annotations: { ...(t.metadata["annotations"] ?? {}) } },
      spec: o.kind === "StatefulSet" ? withClaimVolumes(t.spec, o) : t.spec,
      source: canaryOwner ? `flagger: Deployment from Canary ${nsOf(o)}/${canaryOwner["name"]} (v1.36.1 pkg/canary/deployment_controller.go)` : "rendered",
      ...(chart ? { chart } : {}),
    });
  }
  return out;
}

/**
 * A StatefulSet's pod as its controller makes it: each volumeClaimTemplate becomes a volume of the
 * pod backed by the claim `<template>-<statefulset>-<ordinal>` (pkg/controller/statefulset
 * updateStorage); the template's containers mount it by the template's name.
 */
function withClaimVolumes(spec: Obj, sts: LiveObject): Obj {
  const templates: Obj[] = sts["spec"]?.volumeClaimTemplates ?? [];
  if (!templates.length) return spec;
  const named = new Set((spec["volumes"] ?? []).map((v: Obj) => v["name"]));
  const claims = templates
    .filter((t) => !named.has(t["metadata"]?.name))
    .map((t) => ({ name: t["metadata"]?.name, persistentVolumeClaim: { claimName: `${t["metadata"]?.name}-${sts.metadata.name}-0` } }));
  return { ...spec, volumes: [...(spec["volumes"] ?? []), ...claims] };
}

/** The values istiod renders gateway templates with (istio-sidecar-injector ConfigMap, key `values`). */
function istiodInjectorValues(objects: readonly LiveObject[]): Obj | undefined {
  const cm = objects.find((o) => o.kind === "ConfigMap" && /^istio-sidecar-injector(-.+)?$/.test(o.metadata.name));
  const raw = cm?.["data"]?.values;
  if (typeof raw !== "string") return undefined;
  try {
    return JSON.parse(raw) as Obj;
  } catch {
    return undefined;
  }
}

/** Strategic-merge for plain maps (lists replaced), as Kubernetes merges a patch's non-list fields. */
function mergeDeep(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = v && typeof v === "object" && !Array.isArray(v) && a[k] && typeof a[k] === "object" ? mergeDeep(a[k], v) : v;
  return out;
}

/** The class defaults istiod overlays on the Deployment/PDB it makes for a GatewayClass (chart gateway-class-configmap.yaml). */
export function gatewayClassOverlay(objects: readonly LiveObject[], cls: string, kind: "deployment" | "podDisruptionBudget"): Obj | undefined {
  const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.labels?.["gateway.istio.io/defaults-for-class"] === cls);
  const text = cm?.["data"]?.[kind];
  return typeof text === "string" ? (parseYaml(text) as Obj) : undefined;
}

const omitEmpty = (o: Obj): Obj => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null && !(typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) && !(Array.isArray(v) && v.length === 0)));

/**
 * istiod's waypoint pod for a Gateway of class istio-waypoint: istiod chart files/waypoint.yaml
 * (1.30.3) with the runtime values. Only the fields admission and placement read are rebuilt; the
 * rest (env, volumes of emptyDir/projected/configMap kinds) is what the template always adds.
 */
export function waypointPods(objects: readonly LiveObject[]): PodSet[] {
  const gateways = objects.filter((o) => o.kind === "Gateway" && o["spec"]?.gatewayClassName === "istio-waypoint");
  if (!gateways.length) return [];
  const values = istiodInjectorValues(objects);
  const g = values?.["global"] ?? {};
  const wp = g["waypoint"] ?? {};
  const seccomp = values?.["gateways"]?.seccompProfile;
  const variant = g["variant"] && g["variant"] !== "default" ? `-${g["variant"]}` : "";
  const image = `${g["hub"] ?? "docker.io/istio"}/${g["proxy"]?.image ?? "proxyv2"}:${g["tag"] ?? "unknown"}${variant}`;
  const openshift = g["platform"] === "openshift";
  const overlay = gatewayClassOverlay(objects, "istio-waypoint", "deployment");
  return gateways.map((gw) => {
    const ns = nsOf(gw);
    const infraLabels: Record<string, string> = gw["spec"]?.infrastructure?.labels ?? Object.fromEntries(Object.entries(gw.metadata.labels ?? {}).filter(([k]) => !k.startsWith("gateway.networking.k8s.io/")));
    const labels = {
      "sidecar.istio.io/inject": "false",
      "istio.io/dataplane-mode": "none",
      "service.istio.io/canonical-name": gw.metadata.name,
      "service.istio.io/canonical-revision": "latest",
      ...infraLabels,
      "gateway.networking.k8s.io/gateway-name": gw.metadata.name,
      "gateway.networking.k8s.io/gateway-class-name": "istio-waypoint",
      "gateway.istio.io/managed": "istio.io-mesh-controller",
    };
    const securityContext = omitEmpty({
      privileged: false,
      ...(openshift ? {} : { runAsGroup: 1337, runAsUser: 1337 }),
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
      ...(seccomp && Object.keys(seccomp).length ? { seccompProfile: seccomp } : {}),
    });
    const spec = omitEmpty({
      affinity: wp["affinity"],
      topologySpreadConstraints: wp["topologySpreadConstraints"],
      nodeSelector: wp["nodeSelector"],
      tolerations: wp["tolerations"],
      serviceAccountName: gw.metadata.name,
      containers: [omitEmpty({ name: "istio-proxy", image, ports: [{ containerPort: 15020, name: "metrics" }, { containerPort: 15021, name: "status-port" }, { containerPort: 15090, name: "http-envoy-prom" }], resources: wp["resources"], securityContext })],
      volumes: [
        { name: "workload-socket", emptyDir: {} },
        { name: "istio-envoy", emptyDir: { medium: "Memory" } },
        { name: "istio-data", emptyDir: {} },
        { name: "istio-podinfo", downwardAPI: { items: [] } },
        { name: "istio-token", projected: { sources: [] } },
        { name: "istiod-ca-cert", configMap: { name: "istio-ca-root-cert" } },
      ],
    });
    return {
      id: `Deployment ${ns}/${gw.metadata.name}`,
      kind: "Deployment",
      namespace: ns,
      name: gw.metadata.name,
      replicas: Number(overlay?.["spec"]?.replicas ?? 1),
      metadata: { labels, annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "15020", "prometheus.io/path": "/stats/prometheus" } },
      spec,
      source: values ? "istiod: waypoint template (istiod chart files/waypoint.yaml) with the istio-sidecar-injector values" : "istiod: waypoint template; the istio-sidecar-injector ConfigMap is not in the render, chart defaults assumed",
    };
  });
}

/** Envoy Gateway's proxy pods: one Deployment per Gateway of a class its controller owns. */
export function envoyProxyPods(objects: readonly LiveObject[]): PodSet[] {
  const EG = "gateway.envoyproxy.io/gatewayclass-controller";
  const classes = new Map(objects.filter((o) => o.kind === "GatewayClass" && o["spec"]?.controllerName === EG).map((c) => [c.metadata.name, c]));
  if (!classes.size) return [];
  const egNs = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "envoy-gateway")?.metadata.namespace ?? "envoy-gateway-system";
  const proxyOf = (ref: Obj | undefined, ns: string): LiveObject | undefined =>
    ref?.kind === "EnvoyProxy" ? objects.find((o) => o.kind === "EnvoyProxy" && o.metadata.name === ref["name"] && nsOf(o) === (ref["namespace"] ?? ns)) : undefined;
  return objects
    .filter((o) => o.kind === "Gateway" && classes.has(o["spec"]?.gatewayClassName))
    .map((gw) => {
      const cls = classes.get(gw["spec"].gatewayClassName)!;
      // The Gateway's own parametersRef replaces the class's (mergeType unset).
      const ep = proxyOf(gw["spec"]?.infrastructure?.parametersRef, nsOf(gw)) ?? proxyOf(cls["spec"]?.parametersRef, egNs);
      const d: Obj = ep?.["spec"]?.provider?.kubernetes?.envoyDeployment ?? {};
      const pod: Obj = d["pod"] ?? {};
      const c: Obj = d["container"] ?? {};
      const defaultSc = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, privileged: false, runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } };
      // A container securityContext replaces the default, for both containers (resource.go).
      const sc = c["securityContext"] ?? defaultSc;
      const labels = {
        "app.kubernetes.io/name": "envoy",
        "app.kubernetes.io/component": "proxy",
        "app.kubernetes.io/managed-by": "envoy-gateway",
        "gateway.envoyproxy.io/owning-gateway-name": gw.metadata.name,
        "gateway.envoyproxy.io/owning-gateway-namespace": nsOf(gw),
        ...(gw["spec"]?.infrastructure?.labels ?? {}),
        ...(pod["labels"] ?? {}),
      };
      const spec = omitEmpty({
        securityContext: pod["securityContext"],
        affinity: pod["affinity"],
        tolerations: pod["tolerations"],
        nodeSelector: pod["nodeSelector"],
        topologySpreadConstraints: pod["topologySpreadConstraints"],
        automountServiceAccountToken: false,
        serviceAccountName: ep?.["spec"]?.provider?.kubernetes?.envoyServiceAccount?.name ?? `envoy-${nsOf(gw)}-${gw.metadata.name}`,
        containers: [
          omitEmpty({
            name: "envoy",
            image: c["image"] ?? "docker.io/envoyproxy/envoy:distroless-v1.38.3",
            resources: c["resources"] ?? { requests: { cpu: "100m", memory: "512Mi" } },
            securityContext: sc,
            ports: [{ containerPort: 19001, name: "metrics" }, { containerPort: 19003, name: "readiness" }],
          }),
          { name: "shutdown-manager", image: "docker.io/envoyproxy/gateway:v1.8.3", resources: { requests: { cpu: "10m", memory: "32Mi" } }, securityContext: sc },
        ],
        volumes: [
          { name: "certs", secret: { secretName: "envoy" } },
          { name: "sds", configMap: { name: "envoy" } },
          ...(pod["volumes"] ?? []),
        ],
      });
      // envoyDeployment.patch (strategic merge): containers merge by name (internal/utils/merge.go).
      const patch: Obj | undefined = d["patch"]?.value?.spec?.template?.spec;
      for (const pc of (patch?.["containers"] ?? []) as Obj[]) {
        const i = (spec["containers"] as Obj[]).findIndex((c) => c["name"] === pc["name"]);
        if (i >= 0) spec["containers"][i] = mergeDeep(spec["containers"][i], pc);
      }
      const name = `envoy-${nsOf(gw)}-${gw.metadata.name}`;
      return {
        id: `Deployment ${egNs}/${name}`,
        kind: "Deployment",
        namespace: egNs,
        name,
        replicas: Number(d["replicas"] ?? ep?.["spec"]?.provider?.kubernetes?.envoyHpa?.minReplicas ?? 1),
        metadata: { labels, annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "19001", ...(pod["annotations"] ?? {}) } },
        spec,
        source: `envoy-gateway: proxy Deployment for Gateway ${nsOf(gw)}/${gw.metadata.name}${ep ? ` from ${idOf(ep)}` : ""} (internal/infrastructure/kubernetes/proxy, v1.8.3)`,
      };
    });
}

/** Strimzi's pods: brokers/controllers per KafkaNodePool and the entity operator. */
export function strimziPods(objects: readonly LiveObject[]): PodSet[] {
  const operator = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "strimzi-cluster-operator");
  const env: Obj[] = operator ? (podTemplate("kubernetes:apps/v1:Deployment", operator)?.spec["containers"]?.[0]?.env ?? []) : [];
  const restricted = env.some((e) => e["name"] === "STRIMZI_POD_SECURITY_PROVIDER_CLASS" && /restricted/i.test(String(e["value"])));
  const containerSc = restricted ? { allowPrivilegeEscalation: false, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" }, capabilities: { drop: ["ALL"] } } : undefined;
  const source = `strimzi: cluster operator 1.2.0 (${restricted ? "RestrictedPodSecurityProvider" : "BaselinePodSecurityProvider"})`;
  const out: PodSet[] = [];
  for (const k of objects.filter((o) => o.kind === "Kafka")) {
    const cluster = k.metadata.name;
    const ns = nsOf(k);
    const kTemplate: Obj = k["spec"]?.kafka?.template ?? {};
    for (const pool of objects.filter((o) => o.kind === "KafkaNodePool" && nsOf(o) === ns && o.metadata.labels?.["strimzi.io/cluster"] === cluster)) {
      const ps: Obj = pool["spec"] ?? {};
      // A pool's template.pod replaces the Kafka's as a whole (KafkaPool.java).
      const tPod: Obj = ps["template"]?.pod ?? kTemplate["pod"] ?? {};
      const tContainer: Obj = ps["template"]?.kafkaContainer ?? kTemplate["kafkaContainer"] ?? {};
      const roles: string[] = ps["roles"] ?? [];
      const persistent = ps["storage"]?.type === "persistent-claim" || (ps["storage"]?.type === "jbod" && (ps["storage"]?.volumes ?? []).some((v: Obj) => v["type"] === "persistent-claim"));
      const labels = {
        "strimzi.io/kind": "Kafka",
        "strimzi.io/name": `${cluster}-kafka`,
        "strimzi.io/cluster": cluster,
        "strimzi.io/component-type": "kafka",
        "strimzi.io/pool-name": pool.metadata.name,
        "strimzi.io/broker-role": String(roles.includes("broker")),
        "strimzi.io/controller-role": String(roles.includes("controller")),
        "strimzi.io/controller": "strimzipodset",
        "strimzi.io/controller-name": `${cluster}-${pool.metadata.name}`,
        "app.kubernetes.io/name": "kafka",
        "app.kubernetes.io/instance": cluster,
        "app.kubernetes.io/part-of": `strimzi-${cluster}`,
        "app.kubernetes.io/managed-by": "strimzi-cluster-operator",
        ...(tPod["metadata"]?.labels ?? {}),
      };
      const sc = tContainer["securityContext"] ?? containerSc;
      out.push({
        id: `StrimziPodSet ${ns}/${cluster}-${pool.metadata.name}`,
        kind: "StrimziPodSet",
        namespace: ns,
        name: `${cluster}-${pool.metadata.name}`,
        replicas: Number(ps["replicas"] ?? 1),
        metadata: { labels, annotations: {} },
        spec: omitEmpty({
          securityContext: tPod["securityContext"] ?? (persistent ? { fsGroup: 0 } : undefined),
          affinity: tPod["affinity"],
          topologySpreadConstraints: tPod["topologySpreadConstraints"],
          tolerations: tPod["tolerations"],
          automountServiceAccountToken: false,
          containers: [omitEmpty({ name: "kafka", image: k["spec"]?.kafka?.image ?? "quay.io/strimzi/kafka:1.2.0-kafka-4.3.1", resources: ps["resources"], securityContext: sc })],
          volumes: [{ name: "data", ...(persistent ? { persistentVolumeClaim: { claimName: "data" } } : { emptyDir: {} }) }, { name: "strimzi-tmp", emptyDir: { medium: "Memory" } }],
        }),
        source,
      });
    }
    const eo: Obj | undefined = k["spec"]?.entityOperator;
    if (eo) {
      const t: Obj = eo["template"] ?? {};
      const containers = (["topicOperator", "userOperator"] as const)
        .filter((c) => eo[c])
        .map((c) => omitEmpty({ name: c === "topicOperator" ? "topic-operator" : "user-operator", image: eo[c]?.image ?? "quay.io/strimzi/operator:1.2.0", resources: eo[c]?.resources, securityContext: t[`${c}Container`]?.securityContext ?? containerSc }));
      out.push({
        id: `Deployment ${ns}/${cluster}-entity-operator`,
        kind: "Deployment",
        namespace: ns,
        name: `${cluster}-entity-operator`,
        replicas: 1,
        metadata: {
          labels: { "strimzi.io/kind": "Kafka", "strimzi.io/name": `${cluster}-entity-operator`, "strimzi.io/cluster": cluster, "strimzi.io/component-type": "entity-operator", "app.kubernetes.io/name": "entity-operator", "app.kubernetes.io/instance": cluster, ...(t["pod"]?.metadata?.labels ?? {}) },
          annotations: {},
        },
        spec: omitEmpty({ securityContext: t["pod"]?.securityContext, affinity: t["pod"]?.affinity, topologySpreadConstraints: t["pod"]?.topologySpreadConstraints, automountServiceAccountToken: false, containers, volumes: [{ name: "strimzi-tmp", emptyDir: { medium: "Memory" } }] }),
        source,
      });
    }
  }
  return out;
}

/**
 * prometheus-operator's StatefulSets (v0.93, pkg/prometheus/server/statefulset.go and
 * pkg/alertmanager/statefulset.go): labels from podMetadata under the operator's own, pod security
 * context and scheduling copied from the CR, read-only root and no capabilities on every container;
 * the config reloader's resources from the operator's --config-reloader-* flags (0 = unset).
 */
export function prometheusOperatorPods(objects: readonly LiveObject[]): PodSet[] {
  const operator = objects.find((o) => o.kind === "Deployment" && o.metadata.labels?.["app"] === "kube-prometheus-stack-operator") ?? objects.find((o) => o.kind === "Deployment" && /prometheus-operator$|kube-prometheus-stack-operator$/.test(o.metadata.name));
  const args: string[] = operator ? (podTemplate("kubernetes:apps/v1:Deployment", operator)?.spec["containers"]?.[0]?.args ?? []) : [];
  const flag = (name: string, dflt: string): string | undefined => {
    const a = args.find((x) => x.startsWith(`--${name}=`));
    const v = a ? a.slice(name.length + 3) : dflt;
    return v === "0" ? undefined : v;
  };
  const reloaderResources = omitEmpty({
    requests: omitEmpty({ cpu: flag("config-reloader-cpu-request", "10m"), memory: flag("config-reloader-memory-request", "50Mi") }),
    limits: omitEmpty({ cpu: flag("config-reloader-cpu-limit", "10m"), memory: flag("config-reloader-memory-limit", "50Mi") }),
  });
  // The operator's --prometheus-config-reloader flag (its compiled-in default otherwise).
  const reloaderImage = flag("prometheus-config-reloader", "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1");
  const sc = { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
  const out: PodSet[] = [];
  for (const cr of objects.filter((o) => (o.kind === "Prometheus" || o.kind === "Alertmanager") && o.apiVersion.startsWith("monitoring.coreos.com/"))) {
    const s: Obj = cr["spec"] ?? {};
    const prom = cr.kind === "Prometheus";
    const app = prom ? "prometheus" : "alertmanager";
    const name = `${app}-${cr.metadata.name}`;
    const labels = {
      ...(s["podMetadata"]?.labels ?? {}),
      "app.kubernetes.io/name": app,
      "app.kubernetes.io/managed-by": "prometheus-operator",
      "app.kubernetes.io/instance": cr.metadata.name,
      [app]: cr.metadata.name,
      ...(prom ? { "operator.prometheus.io/name": cr.metadata.name, "operator.prometheus.io/shard": "0" } : {}),
    };
    out.push({
      id: `StatefulSet ${nsOf(cr)}/${name}`,
      kind: "StatefulSet",
      namespace: nsOf(cr),
      name,
      replicas: Number(s["replicas"] ?? 1),
      metadata: { labels, annotations: { ...(s["podMetadata"]?.annotations ?? {}) } },
      spec: omitEmpty({
        securityContext: s["securityContext"],
        serviceAccountName: s["serviceAccountName"],
        affinity: s["affinity"],
        tolerations: s["tolerations"],
        nodeSelector: s["nodeSelector"],
        topologySpreadConstraints: s["topologySpreadConstraints"],
        initContainers: [omitEmpty({ name: "init-config-reloader", image: reloaderImage, resources: reloaderResources, securityContext: sc })],
        containers: [
          omitEmpty({ name: app, image: s["image"] ?? app, resources: s["resources"] ?? (prom ? undefined : { requests: { memory: "200Mi" } }), securityContext: sc, ports: [{ name: "web", containerPort: prom ? 9090 : 9093 }] }),
          omitEmpty({ name: "config-reloader", image: reloaderImage, resources: reloaderResources, securityContext: sc, ports: [{ name: "reloader-web", containerPort: 8080 }] }),
        ],
      }),
      source: `prometheus-operator: StatefulSet from ${idOf(cr)} (v0.93 pkg/${prom ? "prometheus/server" : "alertmanager"}/statefulset.go)`,
    });
  }
  return out;
}

/** Every pod set that will run: rendered workloads plus what controllers create. */
export function allPods(objects: readonly LiveObject[], chartOf?: (o: LiveObject) => string | undefined): PodSet[] {
  return [...renderedPods(objects, chartOf), ...waypointPods(objects), ...envoyProxyPods(objects), ...strimziPods(objects), ...prometheusOperatorPods(objects)];
}
