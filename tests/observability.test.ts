import { generatedSecret } from "./support/generated-secrets";
import Ajv from "ajv";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
  AGENT_NAME,
  agentConfig,
  CollectorPolicy,
  gatewayConfig,
  LOG_BODY_REDACTION,
  REDACTION_PROCESSORS,
} from "../components/observability/otel-collector";
import { GRAFANA_ADMIN_SECRET } from "../components/observability/kube-prometheus-stack";
import { PLATFORM_NAMESPACES } from "../config/schema";
import { isSecretMarker } from "../render/harness";
import { HELM_RELEASE_TYPE } from "../render/gitops";
import { Rendered, renderStack } from "../render/render";
import { ROOT } from "../render/stack";
import { charts, images, OTEL_COLLECTOR_COMPONENTS } from "../versions";
import { CRD_DIR, CrdValidator } from "./support/crd-schema";
import { unknownValueKeys } from "./support/helm-values";

const rendered: Record<string, Rendered> = {};
beforeAll(async () => {
  // Sequential: the mock runtime is process-global.
  rendered["dev"] = await renderStack("dev");
  rendered["prod"] = await renderStack("prod");
});

/** The observability area's Helm releases (other areas' releases live in their own namespaces). */
const releases = (r: Rendered) =>
  r.run.resources
    .filter((x) => x.type === HELM_RELEASE_TYPE && (x.inputs as { namespace?: string }).namespace === "observability")
    .map((x) => x.inputs as { name: string; chart: string; version: string; values: Record<string, any> });
const release = (r: Rendered, name: string) => releases(r).find((x) => x.name === name)!;
const chartDir = (chart: string, version: string) => path.join(ROOT, "charts", chart, version);
const readYaml = (file: string) => parse(fs.readFileSync(file, "utf8"));

/** Deep merge: subchart defaults under their key, the parent chart's values on top. */
function merge(base: any, over: any): any {
  if (!base || typeof base !== "object" || Array.isArray(base) || !over || typeof over !== "object" || Array.isArray(over)) return over ?? base;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v) : v;
  return out;
}

/** The pinned chart's defaults with its vendored subcharts' defaults merged under their names. */
function chartDefaults(chart: string, version: string): any {
  const dir = chartDir(chart, version);
  const subDir = path.join(dir, "charts");
  const subs = fs.existsSync(subDir) ? fs.readdirSync(subDir) : [];
  const sub = Object.fromEntries(subs.map((s) => [s, readYaml(path.join(subDir, s, "values.yaml"))]));
  return merge(sub, readYaml(path.join(dir, "values.yaml")));
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
/** Helm validates the defaults merged with the given values against the chart's schema. */
const schemaErrors = (chart: string, version: string, values: unknown) => {
  const file = path.join(chartDir(chart, version), "values.schema.json");
  const validate = ajv.compile({ ...JSON.parse(fs.readFileSync(file, "utf8")), $schema: undefined, $id: undefined });
  return validate(merge(chartDefaults(chart, version), values)) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
};

/**
 * Keys the chart templates read although its values.yaml only shows them commented out; each is
 * admitted by the chart's values.schema.json where it has one (checked below).
 */
const FREE_FORM: Record<string, string[]> = {
  // service.enabled/clusterIP/internalTrafficPolicy and podDisruptionBudget.maxUnavailable are
  // commented in values.yaml and declared in values.schema.json; ports.<name> is a map of ports.
  "opentelemetry-collector": ["service", "podDisruptionBudget", "ports"],
  // jaeger-deploy.yaml reads .Values.jaeger.resources (commented in values.yaml) and writes
  // podSecurityContext verbatim into the pod spec.
  jaeger: ["jaeger.resources", "jaeger.podSecurityContext"],
  // Passed through to Loki's config file (schema: additionalProperties true).
  loki: ["loki.limits_config"],
  // The grafana subchart's templates/deployment.yaml reads .Values.podLabels (commented in its values.yaml);
  // templates/alertmanager/alertmanager.yaml reads alertmanager.alertmanagerSpec.configSecret (commented in values.yaml).
  "kube-prometheus-stack": ["grafana.podLabels", "alertmanager.alertmanagerSpec.configSecret"],
};

describe.each(["dev", "prod"])("the %s observability releases", (stack) => {
  it("pin the charts of the version set and set only keys their default values know", () => {
    const r = rendered[stack]!;
    const obs = releases(r);
    expect(obs.map((x) => `${x.name}:${x.chart}@${x.version}`).sort()).toEqual(
      [
        `jaeger:jaeger@${charts.jaeger.version}`,
        `kube-prometheus-stack:kube-prometheus-stack@${charts.kubePrometheusStack.version}`,
        `loki:loki@${charts.loki.version}`,
        `otel-agent:opentelemetry-collector@${charts.otelCollector.version}`,
        `otel-gateway:opentelemetry-collector@${charts.otelCollector.version}`,
        `prometheus-operator-crds:prometheus-operator-crds@${charts.prometheusOperatorCrds.version}`,
      ].sort(),
    );
    for (const rel of obs) {
      const unknown = unknownValueKeys(rel.values, chartDefaults(rel.chart, rel.version), { freeForm: FREE_FORM[rel.chart] ?? [] });
      expect({ release: rel.name, unknown }).toEqual({ release: rel.name, unknown: [] });
    }
  });

  it("validate the collector and Loki values against the charts' values.schema.json", () => {
    const r = rendered[stack]!;
    for (const name of ["otel-gateway", "otel-agent"]) {
      expect({ name, errors: schemaErrors("opentelemetry-collector", charts.otelCollector.version, release(r, name).values) }).toEqual({ name, errors: [] });
    }
    expect(schemaErrors("loki", charts.loki.version, release(r, "loki").values)).toEqual([]);
  });

  it("run the collector as gateway and agent from the pinned contrib image, with the agent as the workloads' endpoint", () => {
    const r = rendered[stack]!;
    const gw = release(r, "otel-gateway").values;
    const agent = release(r, "otel-agent").values;
    expect([gw.mode, agent.mode]).toEqual(["deployment", "daemonset"]);
    for (const v of [gw, agent]) expect(v.image).toEqual({ repository: images.otelCollector.repository, tag: images.otelCollector.tag });
    expect(agent.service).toEqual({ enabled: true, internalTrafficPolicy: "Local" });
    expect(r.config.observability.otlpEndpoint).toBe(`http://${AGENT_NAME}.observability.svc.cluster.local:4317`);
    // The services' Deployments (each service is its own component); charts' Deployments in other areas are not workloads that export.
    const services = new Set(Object.keys(r.config.services));
    const workloads = r.model.groups.filter((g) => services.has(g.name)).flatMap((g) => g.objects).filter((o) => o.kind === "Deployment") as any[];
    expect(workloads.length).toBeGreaterThanOrEqual(services.size);
    for (const d of workloads) {
      const env = d.spec.template.spec.containers[0].env as { name: string; value?: string }[];
      expect(env.find((e) => e.name === "OTEL_EXPORTER_OTLP_ENDPOINT")!.value).toBe(r.config.observability.otlpEndpoint);
    }
    const sampling = gw.alternateConfig.processors.tail_sampling.policies;
    expect(sampling.map((p: any) => p.type)).toEqual(["status_code", "latency", "probabilistic"]);
    expect(sampling[2].probabilistic.sampling_percentage).toBe(r.config.observability.tracingSamplingPercent);
  });

  it("keep Grafana's admin password out of the chart values: generated, in a Secret, referenced by name", () => {
    const r = rendered[stack]!;
    const kps = release(r, "kube-prometheus-stack").values;
    expect(kps.grafana.admin).toEqual({ existingSecret: GRAFANA_ADMIN_SECRET, userKey: "admin-user", passwordKey: "admin-password" });
    expect(JSON.stringify(kps)).not.toMatch(/adminPassword|mock-/);
    // A Secret of the program's, or (secrets.platformSecrets) the one External Secrets makes from the store.
    const secret = generatedSecret(r.run.resources, PLATFORM_NAMESPACES.observability, GRAFANA_ADMIN_SECRET)!;
    const data = (secret.inputs as any).stringData;
    expect(isSecretMarker(data)).toBe(true);
    expect(Object.keys(data.value).sort()).toEqual(["admin-password", "admin-user"]);
    expect(r.run.resources.some((x) => x.type === "random:index/randomPassword:RandomPassword" && x.urn.includes("grafana-admin"))).toBe(true);
    // Left out of the tree: a reference for a person, or (through the store) an ExternalSecret.
    const viaStore = r.config.secrets.platformSecrets.enabled;
    expect(r.model.secrets.map((s) => s.name).includes(GRAFANA_ADMIN_SECRET)).toBe(!viaStore);
    expect(r.model.groups.flatMap((g) => g.objects).some((o) => o.kind === "ExternalSecret" && o.metadata.name === GRAFANA_ADMIN_SECRET)).toBe(viaStore);
  });

  it("let Prometheus pick up monitors and rules from every release and namespace, and wire Jaeger and Loki into Grafana", () => {
    const kps = release(rendered[stack]!, "kube-prometheus-stack").values;
    for (const k of ["serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"]) expect(kps.prometheus.prometheusSpec[`${k}SelectorNilUsesHelmValues`]).toBe(false);
    expect(kps.grafana.additionalDataSources.map((d: any) => [d.type, d.uid])).toEqual([["jaeger", "jaeger"], ["loki", "loki"]]);
    expect(kps.grafana.sidecar.datasources.exemplarTraceIdDestinations).toEqual({ datasourceUid: "jaeger", traceIdLabelName: "trace_id" });
  });
});

describe("production sizing", () => {
  it("runs Prometheus with 2 replicas, retention and a volume, Alertmanager with 3, and the collector gateway with HPA and PDB", () => {
    const r = rendered["prod"]!;
    const kps = release(r, "kube-prometheus-stack").values;
    expect(kps.prometheus.prometheusSpec).toMatchObject({ replicas: 2, retention: "30d", podAntiAffinity: "hard" });
    expect(kps.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage).toBe("200Gi");
    expect(kps.prometheus.podDisruptionBudget).toEqual({ enabled: true, minAvailable: 1 });
    expect(kps.alertmanager.alertmanagerSpec.replicas).toBe(3);
    const gw = release(r, "otel-gateway").values;
    expect(gw.autoscaling).toMatchObject({ enabled: true, minReplicas: 2, maxReplicas: 6 });
    expect(gw.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: 1 });
  });

  it("keeps dev small: one Prometheus, no gateway autoscaling or disruption budget", () => {
    const r = rendered["dev"]!;
    expect(release(r, "kube-prometheus-stack").values.prometheus.prometheusSpec.replicas).toBe(1);
    const gw = release(r, "otel-gateway").values;
    expect(gw.autoscaling.enabled).toBe(false);
    expect(gw.podDisruptionBudget).toBeUndefined();
  });
});

describe("component wiring", () => {
  it("registers the area's components with their type tokens, each child parented to its component", () => {
    const r = rendered["prod"]!;
    const types = ["PrometheusOperatorCrds", "KubePrometheusStack", "Jaeger", "Loki", "OtelCollector", "ServiceSlos"].map((t) => `platform:observability:${t}`);
    const components = r.run.resources.filter((x) => types.includes(x.type));
    expect(components.map((c) => c.type).sort()).toEqual([...types].sort());
    for (const c of components) {
      const children = r.run.resources.filter((x) => x.parent === c.urn);
      expect({ component: c.name, children: children.length > 0 }).toEqual({ component: c.name, children: true });
    }
  });

  it("makes every monitoring.coreos.com object wait for the CRDs' release itself", () => {
    const r = rendered["prod"]!;
    const crdRelease = r.run.resources.find((x) => x.type === HELM_RELEASE_TYPE && (x.inputs as any).name === "prometheus-operator-crds")!;
    const monitors = r.run.resources.filter((x) => String((x.inputs as any).apiVersion).startsWith("monitoring.coreos.com/"));
    expect(monitors.length).toBeGreaterThan(5);
    for (const m of monitors) expect({ urn: m.urn, waits: m.dependencies.includes(crdRelease.urn) }).toEqual({ urn: m.urn, waits: true });
  });
});

describe("monitoring custom resources", () => {
  const crds = new CrdValidator(CRD_DIR);
  it.each(["dev", "prod"])("validate against the pinned prometheus-operator CRDs (%s)", (stack) => {
    const objs = rendered[stack]!.model.groups.flatMap((g) => g.objects).filter((o) => o.apiVersion === "monitoring.coreos.com/v1");
    // Alertmanager and Prometheus come from kube-prometheus-stack's templates (Chart v4 expands the
    // chart); their CRDs are not vendored in crds/prometheus-operator, so only the kinds the area
    // renders itself are schema-checked here.
    expect([...new Set(objs.map((o) => o.kind))].sort()).toEqual(["Alertmanager", "PodMonitor", "Prometheus", "PrometheusRule", "ServiceMonitor"]);
    for (const o of objs.filter((o) => !["Alertmanager", "Prometheus"].includes(o.kind))) {
      expect({ id: `${o.kind}/${o.metadata.name}`, ...crds.validate(o) }).toEqual({ id: `${o.kind}/${o.metadata.name}`, ok: true, errors: [], celNotEvaluated: [] });
    }
  });

  it("rejects a monitor with a misspelt field (the validator bites)", () => {
    const bad = { apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor", metadata: { name: "x" }, spec: { selector: {}, podMetricEndpoints: [{ port: "metrics" }] } };
    expect(crds.validate(bad).ok).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Collector configuration: closed, redacting, and buildable by the pinned distribution.
// ---------------------------------------------------------------------------------------------

const policy: CollectorPolicy = {
  samplingPercent: 10,
  slowTraceMs: 300,
  redactAttributes: ["user.email", "enduser.id", "http.request.header.authorization"],
  redactPatterns: ["[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}"],
};
const configs = {
  gateway: gatewayConfig({ jaegerOtlpGrpc: "jaeger.observability.svc.cluster.local:4317", lokiOtlpHttp: "http://loki.observability.svc.cluster.local:3100/otlp" }, policy),
  agent: agentConfig("otel-gateway.observability.svc.cluster.local", policy),
};
const KINDS = ["receivers", "processors", "exporters"] as const;

/** Problems that make a collector config not closed: undefined references and unused definitions. */
function closednessProblems(cfg: any): string[] {
  const out: string[] = [];
  const pipelines = Object.entries(cfg.service.pipelines as Record<string, Record<string, string[]>>);
  for (const kind of KINDS) {
    const defined = Object.keys(cfg[kind] ?? {});
    const used = new Set(pipelines.flatMap(([, p]) => p[kind] ?? []));
    for (const [name, p] of pipelines) for (const c of p[kind] ?? []) if (!defined.includes(c)) out.push(`${name} uses undefined ${kind} ${c}`);
    for (const d of defined) if (!used.has(d)) out.push(`${kind} ${d} is defined but in no pipeline`);
  }
  const ext = Object.keys(cfg.extensions ?? {});
  for (const e of cfg.service.extensions ?? []) if (!ext.includes(e)) out.push(`service uses undefined extension ${e}`);
  for (const e of ext) if (!(cfg.service.extensions ?? []).includes(e)) out.push(`extension ${e} is defined but not enabled`);
  return out;
}

/** Pipelines whose data could reach an exporter without passing every redaction processor first. */
function unredactedPipelines(cfg: any): string[] {
  return Object.entries(cfg.service.pipelines as Record<string, { processors?: string[]; exporters: string[] }>)
    .filter(([name, p]) => {
      const procs = p.processors ?? [];
      const needed = name.startsWith("logs") ? [...REDACTION_PROCESSORS, LOG_BODY_REDACTION] : [...REDACTION_PROCESSORS];
      return p.exporters.length > 0 && !needed.every((r) => procs.includes(r));
    })
    .map(([name]) => name);
}

describe.each(Object.entries(configs))("the %s collector config", (_role, cfg) => {
  it("is closed: every referenced component is defined and every defined one is used", () => {
    expect(closednessProblems(cfg)).toEqual([]);
  });

  it("redacts in every pipeline, before batching and export, with the memory limiter first", () => {
    expect(unredactedPipelines(cfg)).toEqual([]);
    for (const p of Object.values(cfg.service.pipelines as Record<string, { processors: string[] }>)) {
      expect(p.processors[0]).toBe("memory_limiter");
      expect(p.processors[p.processors.length - 1]).toBe("batch");
      // Sampling drops traces, it never adds data: it may sit after redaction only.
      for (const r of REDACTION_PROCESSORS) expect(p.processors.indexOf(r)).toBeLessThan(p.processors.indexOf("batch"));
    }
    expect(cfg.processors["attributes/redact"].actions).toEqual(policy.redactAttributes.map((key) => ({ key, action: "delete" })));
    expect(cfg.processors[LOG_BODY_REDACTION].log_statements[0].statements[0]).toBe(
      `replace_pattern(log.body, "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\\\.[A-Za-z]{2,}", "****") where IsString(log.body)`,
    );
  });

  it("uses only components the pinned contrib distribution contains", () => {
    const typeOf = (id: string) => id.split("/")[0]!;
    for (const kind of KINDS) {
      for (const id of Object.keys(cfg[kind])) expect({ kind, type: typeOf(id), known: (OTEL_COLLECTOR_COMPONENTS[kind] as readonly string[]).includes(typeOf(id)) }).toEqual({ kind, type: typeOf(id), known: true });
    }
    for (const id of Object.keys(cfg.extensions)) expect(OTEL_COLLECTOR_COMPONENTS.extensions as readonly string[]).toContain(typeOf(id));
  });
});

describe("telemetry identity at the agent", () => {
  it("sends OTLP, and only OTLP, through the identity processors", () => {
    const cfg = configs.agent;
    const otlp = Object.entries(cfg.service.pipelines as Record<string, { receivers: string[]; processors: string[] }>).filter(([, p]) => p.receivers.includes("otlp"));
    expect(otlp.map(([n]) => n).sort()).toEqual(["logs", "metrics", "traces"]);
    for (const [, p] of otlp) {
      // OTLP shares no pipeline with the collector's own receivers, whose resource attributes are trusted.
      expect(p.receivers).toEqual(["otlp"]);
      expect(p.processors.slice(0, 4)).toEqual(["memory_limiter", "resource/claims", "k8s_attributes/otlp", "transform/identity"]);
    }
    expect(cfg.processors["k8s_attributes/otlp"].pod_association).toEqual([{ sources: [{ from: "connection" }] }]);
    // What the real collector does with it: tests/telemetry-identity.test.ts.
    // The node pipelines keep their association by the attributes the collector itself sets.
    expect(Object.values(cfg.service.pipelines as Record<string, { processors: string[] }>).filter((p) => p.processors.includes("k8s_attributes")).length).toBe(2);
  });

  it("every service's pods carry the label it stamps, Flagger's primaries included", () => {
    const r = rendered["prod"]!;
    const pods = r.running.pods.filter((p) => p.kind === "Deployment" && Object.values(r.config.services).some((s) => s.namespace === p.namespace));
    expect(pods.length).toBeGreaterThan(Object.keys(r.config.services).length);
    for (const p of pods) expect(p.metadata.labels["platform.io/service"]).toBe(p.metadata.labels["app.kubernetes.io/instance"]);
  });
});

describe("the closedness and redaction checks", () => {
  it("catch a dangling reference, an unused component and a pipeline that skips redaction", () => {
    const broken = JSON.parse(JSON.stringify(configs.gateway));
    broken.service.pipelines.metrics.exporters.push("otlp/nowhere");
    broken.processors["filter/unused"] = {};
    broken.service.pipelines.traces.processors = ["memory_limiter", "batch"];
    expect(closednessProblems(broken)).toEqual(
      expect.arrayContaining(["metrics uses undefined exporters otlp/nowhere", "processors filter/unused is defined but in no pipeline"]),
    );
    expect(unredactedPipelines(broken)).toEqual(["traces"]);
  });
});

describe("the rendered collector releases", () => {
  it("carry exactly the configs the pure functions build (what the tests above checked is what runs)", () => {
    const r = rendered["prod"]!;
    const gw = release(r, "otel-gateway").values.alternateConfig;
    const agent = release(r, "otel-agent").values.alternateConfig;
    expect(closednessProblems(gw)).toEqual([]);
    expect(closednessProblems(agent)).toEqual([]);
    expect(unredactedPipelines(gw)).toEqual([]);
    expect(unredactedPipelines(agent)).toEqual([]);
    expect(agent.processors["attributes/redact"].actions.map((a: any) => a.key)).toEqual(r.config.observability.redactAttributes);
    // Traces are routed by trace ID so tail sampling sees whole traces.
    expect(agent.exporters["loadbalancing/traces"].routing_key).toBe("traceID");
  });
});

describe.each(["dev", "prod"])("the %s observability chart objects under Pod Security", (stack) => {
  const objects = () => rendered[stack]!.model.groups.flatMap((g) => g.objects) as any[];
  const workloads = () => objects().filter((o) => o.metadata?.namespace === "observability" && ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind));
  const bytes = (q: string) => {
    const m = /^(\d+)(Mi|Gi)$/.exec(q)!;
    return Number(m[1]) * (m[2] === "Gi" ? 1024 : 1);
  };

  it("give every container requests and a memory limit at least its request", () => {
    const all = workloads();
    expect(all.map((w) => `${w.kind}/${w.metadata.name}`).sort()).toEqual(
      ["DaemonSet/otel-agent-agent", "Deployment/jaeger", "Deployment/kps-operator", "Deployment/otel-gateway", "StatefulSet/loki"],
    );
    for (const w of all) {
      for (const c of [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers]) {
        const r = c.resources ?? {};
        const id = `${w.metadata.name}/${c.name}`;
        expect({ id, cpu: !!r.requests?.cpu, memory: !!r.requests?.memory, limit: !!r.limits?.memory }).toEqual({ id, cpu: true, memory: true, limit: true });
        expect({ id, fits: bytes(r.requests.memory) <= bytes(r.limits.memory) }).toEqual({ id, fits: true });
      }
    }
  });

  it("run every container read-only, without capabilities or escalation, under RuntimeDefault seccomp, as non-root except the agent's collector", () => {
    for (const w of workloads()) {
      const pod = w.spec.template.spec;
      for (const c of pod.containers) {
        const sc = c.securityContext ?? {};
        const id = `${w.metadata.name}/${c.name}`;
        const eff = (f: string) => sc[f] ?? pod.securityContext?.[f];
        expect({ id, ro: sc.readOnlyRootFilesystem, esc: sc.allowPrivilegeEscalation, drop: sc.capabilities?.drop, add: sc.capabilities?.add, seccomp: eff("seccompProfile")?.type }).toEqual({
          id, ro: true, esc: false, drop: ["ALL"], add: undefined, seccomp: "RuntimeDefault",
        });
        if (w.metadata.name === "otel-agent-agent") continue;
        expect({ id, nonRoot: eff("runAsNonRoot"), uid: eff("runAsUser") === 0 }).toEqual({ id, nonRoot: true, uid: false });
      }
    }
  });

  it("limit the agent's host access to the two read-only mounts it needs, and root to its collector container", () => {
    const agent = workloads().find((w) => w.metadata.name === "otel-agent-agent")!;
    const pod = agent.spec.template.spec;
    expect(pod.securityContext).toEqual({ seccompProfile: { type: "RuntimeDefault" } });
    for (const f of ["hostNetwork", "hostPID", "hostIPC"]) expect({ f, on: pod[f] === true }).toEqual({ f, on: false });
    expect(pod.volumes.filter((v: any) => v.hostPath)).toEqual([
      { name: "varlogpods", hostPath: { path: "/var/log/pods", type: "Directory" } },
      { name: "hostfs", hostPath: { path: "/", type: "Directory" } },
    ]);
    const [c] = pod.containers;
    expect(c.securityContext).toMatchObject({ runAsUser: 0, runAsGroup: 0 });
    expect(c.securityContext.privileged).toBeUndefined();
    for (const name of ["varlogpods", "hostfs"]) expect(c.volumeMounts.find((m: any) => m.name === name).readOnly).toBe(true);
  });

  it("render no admission webhook for the operator (its certificate comes from hook Jobs a Chart v4 never runs) and no Loki rules sidecar", () => {
    const obs = objects();
    expect(obs.filter((o) => /WebhookConfiguration$/.test(o.kind) && /^kps/.test(o.metadata.name))).toEqual([]);
    const operator = workloads().find((w) => w.metadata.name === "kps-operator")!;
    expect(operator.spec.template.spec.volumes ?? []).toEqual([]);
    const loki = workloads().find((w) => w.metadata.name === "loki")!;
    expect(loki.spec.template.spec.containers.map((c: any) => c.name)).toEqual(["loki"]);
    // Without the sidecar the chart's ClusterRole grants nothing (it let Loki read every Secret).
    expect(obs.find((o) => o.kind === "ClusterRole" && o.metadata.name === "loki-clusterrole").rules).toEqual([]);
  });

  it("keep the namespace out of the mesh, enrolling only Prometheus and Grafana by pod label", () => {
    const r = rendered[stack]!;
    const ns = objects().find((o) => o.kind === "Namespace" && o.metadata.name === "observability");
    expect(ns.metadata.labels["istio.io/dataplane-mode"]).toBeUndefined();
    const kps = release(r, "kube-prometheus-stack").values;
    const ambient = { "istio.io/dataplane-mode": "ambient" };
    expect(kps.prometheus.prometheusSpec.podMetadata?.labels).toEqual(r.config.mesh.enabled ? ambient : undefined);
    expect(kps.grafana.podLabels).toEqual(r.config.mesh.enabled ? ambient : undefined);
  });
});
