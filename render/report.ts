/** report.md and the dependency-graph picture, from the render model. Pure text functions. */
import type { ChartExpansion } from "./charts";
import { gatewayPrincipal as gatewayPrincipalOf } from "../components/gateway/routing";
import { AREAS_NOT_BUILT, INSTALL_ORDER } from "../components/install-order";
import { allowRules } from "../components/mesh/authorization";
import { serviceGraph } from "../components/service-graph";
import { resiliencePlan, RetryPolicy, sagaTopics } from "../config/resilience";
import { PLATFORM_NAMESPACES, telemetryEndpoint, type PlatformConfig } from "../config/schema";
import { loadtesterPrincipal } from "../components/delivery/flagger";
import { renderCanaryQuery } from "../components/observability/slo";
import { PLATFORM_READER_PREFIX } from "../components/secrets/platform-secrets";
import { AUDIT_LOG_PATH, bootstrapCommands, STORE_AUDIENCE, storeAccess, storeSecretNameOf, writerCommands } from "../components/secrets/store-access";
import { STORE_SECRET_DIR } from "../components/workloads/microservice";
import { callGraph, compareRenders, currentRender, imagesSection, RenderedObject, whatChangesSection } from "./compare";
import { groupLevels, RenderModel } from "./model";
import { charts as chartPins, type ChartPin } from "../versions";

const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");

/**
 * Components of one type in one stage drawn one box each up to this many; more are drawn as one
 * box ("1000 × Microservice"). A picture of a thousand boxes is not read, Graphviz takes a second
 * to lay it out, and Mermaid refuses a flowchart past 500 edges (its `maxEdges`, which a diagram
 * cannot raise), so GitHub would show none. Every component's own edges stay in
 * flux/kustomizations.yaml (`dependsOn`) and report.md's deploy waves.
 */
export const MAX_DRAWN_PER_TYPE = 24;

/** A box of the picture: one component, or all components of one type in a stage past MAX_DRAWN_PER_TYPE. */
interface Box {
  readonly id: string;
  readonly lines: readonly string[];
}

/** The picture both graph files draw: boxes per stage, and arrows from a box to what it waits for. */
function picture(model: RenderModel): { stages: { stage: string; boxes: Box[] }[]; arrows: [string, string][] } {
  const boxOf = new Map<string, string>();
  const stages = INSTALL_ORDER.flatMap((stage) => {
    const members = model.groups.filter((g) => g.stage === stage.name);
    if (!members.length) return [];
    const byType = new Map<string, typeof members>();
    for (const g of members) {
      const same = byType.get(g.type);
      if (same) same.push(g);
      else byType.set(g.type, [g]);
    }
    const boxes: Box[] = [];
    for (const g of members) {
      const same = byType.get(g.type)!;
      if (same.length <= MAX_DRAWN_PER_TYPE) {
        boxes.push({ id: id(g.name), lines: [g.name, g.type, `${g.objects.length} objects`] });
        boxOf.set(g.name, id(g.name));
      } else if (same[0] === g) {
        const box = id(`${stage.name}__${g.type}`);
        const objects = same.reduce((n, x) => n + x.objects.length, 0);
        boxes.push({ id: box, lines: [`${same.length} × ${g.type.split(":").pop()}`, g.type, `${objects} objects`] });
        for (const x of same) boxOf.set(x.name, box);
      }
    }
    return [{ stage: stage.name, boxes }];
  });
  const arrows = new Map<string, [string, string]>();
  for (const [from, to] of model.edges) {
    const a: [string, string] = [boxOf.get(from)!, boxOf.get(to)!];
    if (a[0] !== a[1]) arrows.set(a.join(" "), a);
  }
  return { stages, arrows: [...arrows.values()] };
}

/** Mermaid flowchart of the components; an arrow points from a component to what it waits for. */
export function mermaidGraph(model: RenderModel): string {
  const { stages, arrows } = picture(model);
  const lines = ["flowchart RL"];
  for (const { stage, boxes } of stages) {
    lines.push(`  subgraph ${id("stage_" + stage)}["stage: ${stage}"]`);
    for (const b of boxes) lines.push(`    ${b.id}["${b.lines.join("<br/>")}"]`);
    lines.push("  end");
  }
  for (const [from, to] of arrows) lines.push(`  ${from} --> ${to}`);
  return lines.join("\n") + "\n";
}

/** The same graph in Graphviz dot, for the SVG. */
export function dotGraph(model: RenderModel): string {
  const { stages, arrows } = picture(model);
  const lines = ["digraph platform {", "  rankdir=RL;", '  node [shape=box, style="rounded", fontname="Helvetica"];'];
  for (const { stage, boxes } of stages) {
    lines.push(`  subgraph cluster_${id(stage)} {`, `    label="stage: ${stage}";`);
    for (const b of boxes) lines.push(`    ${b.id} [label="${b.lines.join("\\n")}"];`);
    lines.push("  }");
  }
  for (const [from, to] of arrows) lines.push(`  ${from} -> ${to};`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** A report section appended after the built-in ones. */
export interface ReportSection {
  readonly title: string;
  readonly body: string;
}

export interface ReportInput {
  readonly stack: string;
  readonly config: PlatformConfig;
  readonly model: RenderModel;
  /** Extra sections appended by later stages (policy verdicts, formal checks). */
  readonly sections?: readonly ReportSection[];
  /** What each chart expanded to; undefined when chart expansion was skipped (--skip-charts). */
  readonly charts?: readonly { readonly urn: string; readonly expansion: ChartExpansion }[];
  /** An earlier render to compare with: "What changes" after the summary, new and gone images. */
  readonly compare?: RenderComparison;
}

/** An earlier render (previousRender) and where it was read from, for "What changes". */
export interface RenderComparison {
  readonly previous: ReadonlyMap<string, RenderedObject>;
  /** The earlier render's directory, as the report names it. */
  readonly against: string;
}

/**
 * The "Timeouts, retries and circuit breaking" section: per call and per exposure the effective
 * timeout, retries, budget and breaker, where each is deployed and which key it comes from.
 */
export function resilienceSection(config: PlatformConfig): string[] {
  const plan = resiliencePlan(config);
  const out = ["## Timeouts, retries and circuit breaking", ""];
  const src = (s: { key: string; source: string }) => `\`${s.key}\` (${s.source})`;
  const retries = (r: RetryPolicy) => (r.attempts === 0 ? "none" : `${r.attempts} retries of ${r.perTryTimeoutMs} ms each on ${r.retryOn.join(", ")}, backoff ${r.backoffMs} ms`);
  const breaker = (n: string) => {
    const d = plan.destinations.get(n)!;
    const p = d.connectionPool.value;
    const c = d.circuitBreaker.value;
    return `eject after ${c.consecutiveErrors} errors for ${c.baseEjectionSeconds} s (every ${c.intervalSeconds} s, ≤ ${c.maxEjectionPercent}%); pool ${p.maxConnections} conn / ${p.maxPendingRequests} pending / ${p.maxRequests} requests — ${src(d.circuitBreaker)}, ${src(d.connectionPool)}`;
  };
  if (!config.mesh.enabled) out.push("East-west: **nothing deployed** (`mesh.enabled: false`): no waypoint carries timeouts, retries or breakers.", "");
  else if (plan.calls.length) {
    out.push(
      "East-west, at the called service's waypoint: the timeout on its mesh HTTPRoute, the retries mesh-wide (istiod's `defaultHttpRetryPolicy`), budget, pool and breaker on its DestinationRule.",
      "",
      "| call | timeout | retries | retry budget | breaker and pool |",
      "| --- | --- | --- | --- | --- |",
    );
    for (const c of plan.calls) {
      const r = c.retries.value;
      out.push(`| ${c.from} → ${c.to} | ${c.timeoutMs.value} ms — ${src(c.timeoutMs)} | ${retries(r)} — ${src(c.retries)} | ${r.budgetPercent}% (min ${r.budgetMinConcurrency}) | ${breaker(c.to)} |`);
    }
    out.push("");
  }
  if (plan.exposures.length && config.gateway.enabled) {
    const envoy = config.gateway.implementation === "envoy";
    out.push(
      envoy
        ? "North-south, at Envoy Gateway: the timeout on the route (its BackendTrafficPolicy for gRPC), retries, budget, pool and outlier detection on the route's BackendTrafficPolicy."
        : "North-south, at Traefik: retries in a `retry` Middleware on the route, whose `timeout` bounds the retry phase; **no request timeout, per-try timeout, retry budget, pool or outlier detection** at the gateway (Traefik 3.7 ignores HTTPRoute timeouts, traefik/traefik#11902, and its breaker is ratio-based).",
      "",
      "| exposure | timeout | retries | retry budget | breaker and pool |",
      "| --- | --- | --- | --- | --- |",
    );
    for (const e of plan.exposures) {
      const r = e.retries.value;
      out.push(`| ${e.service} | ${e.timeoutMs.value} ms${envoy ? "" : " (retry phase only)"} — ${src(e.timeoutMs)} | ${retries(r)}${envoy ? "" : " (no per-try timeout)"} — ${src(e.retries)} | ${envoy ? `${r.budgetPercent}% (min ${r.budgetMinConcurrency})` : "none at Traefik"} | ${envoy ? breaker(e.service) : "none at Traefik"} |`);
    }
    out.push("");
  }
  const sagas = Object.entries(config.resilience.sagas);
  if (sagas.length) {
    out.push("Sagas (checked by the saga model, see Formal models), and the Kafka topics the platform creates for them:", "", "| saga | orchestrator → steps | topics |", "| --- | --- | --- |");
    for (const [name, saga] of sagas) {
      const t = sagaTopics(name, saga);
      out.push(`| ${name} | ${saga.orchestrator} → ${saga.steps.map((x) => x.service).join(" → ")} | ${[...Object.values(t.commands), t.replies, t.deadLetter].map((x) => `\`${x}\``).join(", ")} |`);
    }
  }
  return out;
}

/**
 * The "Areas this stack leaves out" section: each optional area the stack turns off, and what the
 * platform then does not give it. Empty when every area is deployed.
 */
export function leftOutSection(config: PlatformConfig): string[] {
  const off: string[] = [];
  if (!config.gateway.enabled) off.push("**Gateway** (`gateway.enabled: false`): no GatewayClass, Gateway or routes; nothing outside the cluster reaches the services, and no service may declare `expose`.");
  if (!config.mesh.enabled) off.push("**Mesh** (`mesh.enabled: false`): no mTLS, no service-to-service authorization (any pod can call any service), no timeouts, retries or circuit breaking between services.");
  if (!config.observability.enabled) {
    const own = telemetryEndpoint(config);
    off.push(
      "**Observability** (`observability.enabled: false`): no Prometheus, Alertmanager or Grafana, no SLO recording rules or burn-rate alerts, no Jaeger or Loki, no collector, and no ServiceMonitor or PodMonitor in any area. " +
        (own ? `Services, the mesh and the gateway still send traces to \`${own}\` (observability.otlpEndpoint, your own collector).` : "Services get `OTEL_SDK_DISABLED=true`, and neither the mesh nor the gateway traces: nothing would receive it."),
    );
  }
  if (!config.security.admission.enabled) off.push("**Admission control** (`security.admission.enabled: false`): no Kyverno and no ClusterPolicies; images are not checked for registry, digest, signature or provenance at admission (the policy pack still reports it at preview, as advisory), and only the namespaces' built-in Pod Security labels refuse pods.");
  if (config.discovery.store === "none") off.push("**Config store** (`discovery.store: none`): no etcd or Consul; no service may declare `configStore`.");
  if (!config.messaging.kafka.enabled) off.push("**Kafka** (`messaging.kafka.enabled: false`): no Strimzi operator or cluster; no service may produce or consume a topic, and no saga may be declared.");
  if (!config.messaging.nats.enabled) off.push("**NATS JetStream** (`messaging.nats.enabled: false`): no control-event streams or KV buckets.");
  if (!off.length) return [];
  return ["## Areas this stack leaves out", "", ...off.map((o) => `- ${o}`), ""];
}

/** Dotted paths of the leaves of a values map (a list is one leaf: helm -f replaces lists whole). */
function leafPaths(v: unknown, at = ""): string[] {
  if (v === null || typeof v !== "object" || Array.isArray(v) || Object.keys(v).length === 0) return [at];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => leafPaths(x, at ? `${at}.${k}` : k));
}

/**
 * The "Escape hatches in use" section: what the stack sets past the schema (chart values merged
 * over the platform's, pod extras, Secrets by reference), so a reviewer sees every override in one
 * place. Empty when the stack uses none.
 */
export function overridesSection(config: PlatformConfig): string[] {
  const rows: string[] = [];
  for (const [chart, values] of Object.entries(config.charts.values).sort(([a], [b]) => a.localeCompare(b))) {
    rows.push(`| \`charts.values.${chart}\` | ${leafPaths(values).map((p) => `\`${p}\``).join(", ")} | merged over the platform's values (maps merge, lists and scalars replace); the chart's schema, the proofs and the pack check what it templates to |`);
  }
  for (const [name, s] of Object.entries(config.services).sort(([a], [b]) => a.localeCompare(b))) {
    const p = s.pod;
    const kinds = [
      ...(Object.keys(p.labels).length ? [`labels ${Object.keys(p.labels).join(", ")}`] : []),
      ...(Object.keys(p.annotations).length ? [`annotations ${Object.keys(p.annotations).join(", ")}`] : []),
      ...(Object.keys(p.nodeSelector).length ? [`nodeSelector ${Object.entries(p.nodeSelector).map(([k, v]) => `${k}=${v}`).join(", ")}`] : []),
      ...(p.tolerations.length ? [`${p.tolerations.length} toleration(s)`] : []),
      ...(p.affinity ? [`affinity (${Object.keys(p.affinity).join(", ")})`] : []),
      ...(Object.keys(p.volumes).length ? [`volumes ${Object.entries(p.volumes).map(([v, x]) => `${v} at ${x.mountPath}`).join(", ")}`] : []),
      ...(p.envFrom.length ? [`envFrom ${p.envFrom.map((e) => (e.secret ? `Secret ${e.secret}` : `ConfigMap ${e.configMap}`)).join(", ")}`] : []),
      ...(p.imagePullSecrets.length ? [`imagePullSecrets ${p.imagePullSecrets.join(", ")}`] : []),
      ...(Object.keys(s.secretEnv).length ? [`secretEnv ${Object.entries(s.secretEnv).map(([k, r]) => `${k} ← ${r.secret}/${r.key}`).join(", ")}`] : []),
    ];
    if (kinds.length) rows.push(`| \`services.${name}\` | ${kinds.join("; ")} | on the stable and canary pods, beside the platform's own fields |`);
  }
  if (!rows.length) return [];
  return ["## Escape hatches in use", "", "| key | what it sets | how it applies |", "| --- | --- | --- |", ...rows, ""];
}

/** The "Charts" section: objects per chart, hooks the provider does not apply, what is not covered. */
/**
 * How each service rolls out: fixed (with its fixed canary split, if any) or progressive, and for
 * progressive ones the steps, the exact analysis queries Flagger will send (its template variables
 * filled in) with their ranges, and the pre-rollout gates, all read from the rendered objects.
 */
export function rolloutSection(config: PlatformConfig, objects: readonly { kind: string; metadata: { name: string; namespace?: string }; [k: string]: any }[]): string[] {
  const out = ["## Rollouts", ""];
  const canaries = new Map(objects.filter((o) => o.kind === "Canary").map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  const templates = new Map(objects.filter((o) => o.kind === "MetricTemplate").map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  out.push("| service | strategy | steps |", "| --- | --- | --- |");
  for (const [name, s] of Object.entries(config.services).sort(([a], [b]) => a.localeCompare(b))) {
    const cd = canaries.get(`${s.namespace}/${name}`);
    if (cd) {
      const a = cd["spec"].analysis;
      out.push(`| ${name} | progressive (Flagger, \`${cd["spec"].provider}\`) | +${a.stepWeight}% every ${a.interval} up to ${a.maxWeight}%, then promotion; rolled back after ${a.threshold} failed checks; testers: \`${s.rollout.header.name}: ${s.rollout.header.value}\` |`);
    } else if (s.expose?.canary) {
      out.push(`| ${name} | fixed canary | ${s.expose.canary.weights.stable}% stable / ${s.expose.canary.weights.canary}% canary (${s.expose.canary.version}); testers: \`${s.expose.canary.header.name}: ${s.expose.canary.header.value}\` |`);
    } else out.push(`| ${name} | fixed | rolling update (maxUnavailable 0) |`);
  }
  out.push("");
  for (const cd of [...canaries.values()]) {
    const a = cd["spec"].analysis;
    const vars = { namespace: cd.metadata.namespace ?? "", target: cd["spec"].targetRef.name, interval: a.interval };
    out.push(`Analysis of ${cd.metadata.namespace}/${cd.metadata.name} (each check once per ${a.interval}; a value outside its range is a failed check):`, "", "| check | range | query |", "| --- | --- | --- |");
    for (const m of a.metrics ?? []) {
      const t = templates.get(`${m.templateRef.namespace ?? cd.metadata.namespace}/${m.templateRef.name}`);
      const q = t ? renderCanaryQuery(String(t["spec"].query), { ...vars, interval: m.interval ?? a.interval }) : "(template not in the render)";
      const range = [m.thresholdRange?.min !== undefined ? `≥ ${m.thresholdRange.min}` : "", m.thresholdRange?.max !== undefined ? `≤ ${m.thresholdRange.max}` : ""].filter(Boolean).join(", ");
      out.push(`| ${m.name} | ${range} | \`${q.replace(/\n/g, " ").replace(/\|/g, "\\|")}\` |`);
    }
    out.push("", "Pre-rollout gates (run by Flagger's loadtester before any traffic; a failing one stops the rollout):", "");
    for (const w of a.webhooks ?? []) out.push(`- ${w.name}: \`${String(w.metadata?.cmd ?? w.url).replace(/\|/g, "\\|")}\``);
    out.push("");
  }
  return out;
}

/**
 * The secret store: who may read which path (derived from `services.<name>.secrets`, with the
 * objects that enforce it, read back from the render), and the bootstrap a person does once.
 */
export function secretStoreSection(config: PlatformConfig, objects: readonly { kind: string; metadata: { name: string; namespace?: string }; [k: string]: any }[]): string[] {
  const out = ["## Secret store", ""];
  if (!config.secrets.enabled) return [...out, "No store (`secrets.enabled` is false): services receive secrets only through `secretEnv` from Secrets of their own.", ""];
  const stores = new Map(objects.filter((o) => o.kind === "SecretStore").map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  const externals = new Map(objects.filter((o) => o.kind === "ExternalSecret").map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  out.push(
    `Vault (\`${config.secrets.replicas}\` raft server${config.secrets.replicas > 1 ? "s" : ""}, TLS, Kubernetes auth, file audit device at \`${AUDIT_LOG_PATH}\`) in namespace \`${PLATFORM_NAMESPACES.secrets}\`; External Secrets re-reads every ${config.secrets.refreshInterval}. Each service reads only its own paths (policy \`svc-<service>\`: \`read\` on exactly the declared paths; role bound to its ServiceAccount and the \`${STORE_AUDIENCE}\` audience).`,
    "",
    "| service | as | name | store path (KV v2 `secret`) | field | SecretStore / ExternalSecret in the render |",
    "| --- | --- | --- | --- | --- | --- |",
  );
  for (const a of storeAccess(config.services)) {
    const st = stores.get(`${a.namespace}/${a.service}-store`);
    const es = externals.get(`${a.namespace}/${a.service}`);
    const rendered = (e: { name: string; path: string; key: string }) =>
      st?.["spec"]?.provider?.vault?.auth?.kubernetes?.role === a.name && (es?.["spec"]?.data ?? []).some((d: any) => d.secretKey === e.name && d.remoteRef?.key === e.path && d.remoteRef?.property === e.key);
    for (const e of a.entries) out.push(`| ${a.service} | ${e.as === "env" ? "env" : `file \`${STORE_SECRET_DIR}/${e.name}\``} | ${e.name} | \`${e.path}\` | ${e.key} | ${rendered(e) ? `\`${a.namespace}/${a.service}-store\` (role \`${a.name}\`) / \`${a.namespace}/${a.service}\` → Secret \`${storeSecretNameOf(a.service)}\`` : "**missing**"} |`);
  }
  if (config.secrets.platformSecrets.enabled) {
    const readers = [...stores.values()].filter((o) => (o["metadata"] as { labels?: Record<string, string> }).labels?.["app.kubernetes.io/component"] === "platform-secrets");
    const made = [...externals.values()].filter((o) => String(o["spec"]?.secretStoreRef?.name ?? "").startsWith(PLATFORM_READER_PREFIX)).sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    out.push(
      "",
      `The platform's generated secrets (\`secrets.platformSecrets\`): \`pulumi up\` writes each to the store at \`${config.secrets.platformSecrets.address}\` (KV v2 \`secret\`, with the writer token from the bootstrap below) and an ExternalSecret makes the Secret of the same name, which is what the workloads read. Each component reads only its own paths (policy and role \`pf-<namespace>_<component>\`: \`read\` on exactly these paths; role bound to the SecretStore's ServiceAccount). The render holds none of them.`,
      "",
      "| Secret | store path (KV v2 `secret`) | read by (SecretStore, role) |",
      "| --- | --- | --- |",
    );
    for (const e of made) {
      const st = readers.find((r) => r.metadata.namespace === e.metadata.namespace && r.metadata.name === e["spec"].secretStoreRef.name);
      out.push(`| \`${e.metadata.namespace}/${e["spec"].target.name}\` | \`${e["spec"].dataFrom?.[0]?.extract?.key}\` | ${st ? `\`${st.metadata.namespace}/${st.metadata.name}\` (role \`${st["spec"].provider.vault.auth.kubernetes.role}\`)` : "**missing**"} |`);
    }
  }
  out.push(
    "",
    "Bootstrap, once per store (the only manual step; until it is done the configurator Job retries, ExternalSecrets report SecretSyncedError and services that declare secrets wait in CreateContainerConfigError). Then write each declared secret at its path (`vault kv put secret/<store path> <field>=...`, with a token allowed to write there):",
    "",
    "```sh",
    ...bootstrapCommands({ namespace: PLATFORM_NAMESPACES.secrets, replicas: config.secrets.replicas, platformSecrets: config.secrets.platformSecrets.enabled }),
    "```",
    "",
  );
  if (config.secrets.platformSecrets.enabled) {
    out.push(
      "Then every `pulumi up` writes the platform's secrets with the writer token (a first `pulumi up` of a new cluster runs with `secrets.platformSecrets.enabled: false`: the store must exist and be bootstrapped before anything can be written to it):",
      "",
      "```sh",
      ...writerCommands({ namespace: PLATFORM_NAMESPACES.secrets, address: config.secrets.platformSecrets.address }),
      "```",
      "",
      "The store's bootstrap also covers the two Secrets that must exist before the store can serve, so they stay Kubernetes Secrets that `pulumi up` creates: the store's own TLS (`vault/vault-tls`) and, with the mesh, its CA (`istio-system/cacerts`: ztunnel carries External Secrets' connection to the store with certificates from it). They are listed under \"Secrets (references only)\"; a GitOps delivery gets them, and the writes, from that same `pulumi up` (docs/secrets.md, \"GitOps\").",
      "",
    );
  }
  return out;
}

export function chartsSection(charts: ReportInput["charts"]): string[] {
  const out = ["## Charts", ""];
  if (!charts) {
    out.push("**Chart expansion was skipped (`--skip-charts`)**: no chart object is in this render, its checks or its policy verdicts; each chart is one HelmRelease.", "");
    return out;
  }
  out.push(
    "Each chart is a Chart v4: `helm template` (hooks off, as the provider runs it), one resource per object. Counts are the objects each chart adds to this render.",
    "",
    "| chart | version | objects | kinds | hooks not applied | not covered |",
    "| --- | --- | --- | --- | --- | --- |",
  );
  for (const { urn, expansion: e } of [...charts].sort((a, b) => a.urn.localeCompare(b.urn))) {
    const kinds = new Map<string, number>();
    for (const c of e.children) kinds.set(c.object.kind, (kinds.get(c.object.kind) ?? 0) + 1);
    const name = urn.slice(urn.lastIndexOf("::") + 2);
    const notCovered = [...e.missingSubcharts.map((m) => `subchart ${m} missing from the chart cache`), ...e.unresolvedScope.map((k) => `namespace scope of ${k} unknown`)];
    out.push(
      `| ${name} (${e.chart}) | ${e.version} | ${e.children.length} | ${[...kinds].sort().map(([k, n]) => `${k} ${n}`).join(", ")} | ${e.droppedHooks.join(", ") || "-"} | ${notCovered.join("; ") || "-"} |`,
    );
  }
  // Releases past (or at) their announced end of life: a fixed date, so the report stays repeatable.
  const used = new Set(charts.map((c) => `${c.expansion.chart}@${c.expansion.version}`));
  const eol = Object.values<ChartPin>(chartPins).filter((p) => p.endOfLife && used.has(`${p.chart}@${p.version}`));
  if (eol.length) out.push("", ...eol.map((p) => `**End of life**: ${p.chart} ${p.version} (${p.appVersion}) is not patched upstream after ${p.endOfLife}${p.heldBack ? `; held back because ${p.heldBack}` : ""}.`));
  const missing = charts.flatMap((c) => c.expansion.missingSubcharts.map((m) => `${c.expansion.chart} → ${m}`));
  if (missing.length) out.push("", `**Not covered by this render** (their objects are neither written nor checked): ${missing.join(", ")}.`);
  out.push("");
  return out;
}

export function reportMarkdown(input: ReportInput): string {
  const { model, config } = input;
  const out: string[] = [];
  const all = model.groups.flatMap((g) => g.objects);
  out.push(`# Platform render: stack \`${input.stack}\``, "");
  out.push(`Environment **${config.environment}**, ${Object.keys(config.services).length} services, ${model.groups.length} components, ${all.length} objects written, ${model.secrets.length} secrets left out (see below).`, "");
  if (input.compare) out.push(...whatChangesSection(compareRenders(input.compare.previous, currentRender(model)), input.compare.against));

  out.push("## Install stages", "", "| stage | contains | after | why |", "| --- | --- | --- | --- |");
  for (const s of INSTALL_ORDER) out.push(`| ${s.name} | ${s.contains} | ${s.after.join(", ") || "-"} | ${s.why} |`);
  out.push("", "Deploy waves (components in one wave are independent and deploy in parallel):", "");
  groupLevels(model).forEach((lvl, i) => out.push(`${i + 1}. ${lvl.join(", ")}`));
  out.push("");

  out.push("## Objects per component and kind", "", "| component | stage | kind | count |", "| --- | --- | --- | --- |");
  for (const g of model.groups) {
    const kinds = new Map<string, number>();
    for (const o of g.objects) kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
    for (const [k, n] of [...kinds].sort()) out.push(`| ${g.name} | ${g.stage} | ${k} | ${n} |`);
  }
  out.push("");

  out.push(...chartsSection(input.charts));
  out.push(...imagesSection(all, input.compare && [...input.compare.previous.values()].map((p) => p.object)));
  out.push("## Service calls", "", "Who calls whom, over which protocol, through which policy (also `calls.mmd`, one sorted line per service and edge, so a one-service change changes only its lines):", "", "```mermaid", callGraph(config).trimEnd(), "```", "");

  out.push("## Secrets (references only)", "");
  if (!model.secrets.length) out.push("None.");
  else {
    out.push("| namespace | name | keys | how to supply |", "| --- | --- | --- | --- |");
    for (const s of model.secrets) out.push(`| ${s.namespace} | ${s.name} | ${s.keys.join(", ")} | ${s.howToSupply} |`);
  }
  out.push("");

  out.push("## Service-to-service authorization", "");
  if (!config.mesh.enabled) {
    out.push("The mesh is off for this stack (`mesh.enabled: false`): **no mTLS and no service-to-service authorization**. Any pod can call any service.");
  } else {
    const graph = serviceGraph(config);
    const gatewayPrincipal = gatewayPrincipalOf(config);
    const progressive = graph.exposures.some((e) => e.progressive);
    const rules = allowRules(graph, {
      trustDomain: config.cluster.domain,
      ...(gatewayPrincipal ? { gatewayPrincipal } : {}),
      ...(progressive ? { loadtesterPrincipal: loadtesterPrincipal(config.cluster.domain, PLATFORM_NAMESPACES.delivery) } : {}),
    });
    out.push(
      "Mesh-wide STRICT mTLS; every application namespace denies by default. The only allowed calls, derived from the declarations:",
      "",
      "| caller (SPIFFE principal) | service | methods | paths | enforced at |",
      "| --- | --- | --- | --- | --- |",
    );
    for (const r of rules) out.push(`| ${r.principal} | ${r.namespace}/${r.service} | ${r.methods?.join(", ") ?? "any"} | ${r.paths?.join(", ") ?? "any"} | ${r.at} |`);
  }
  out.push("");

  out.push(...resilienceSection(config), "");
  out.push(...rolloutSection(config, all));
  out.push(...secretStoreSection(config, all));
  out.push(...leftOutSection(config));
  out.push(...overridesSection(config));

  if (AREAS_NOT_BUILT.length) {
    out.push("## Areas not built yet", "", "Their config is validated; none of their controllers or resources is rendered, and nothing pretends to be:", "");
    for (const a of AREAS_NOT_BUILT) out.push(`- ${a}`);
    out.push("");
  }

  for (const s of input.sections ?? []) out.push(`## ${s.title}`, "", s.body, "");
  out.push("## Files", "", "- `manifests/<component>/`: the objects, one file each", "- `flux/kustomizations.yaml` (`--gitops flux`, the default): one Flux Kustomization per component, `dependsOn` = install order; or `argocd/` (`--gitops argocd`): one Argo CD Application per component, sync wave = its level in the install order, under `argocd/root.yaml`", "- `calls.mmd`: the service call graph (as under \"Service calls\")", "- `.render-files`: what this render wrote; the next one removes only those of them it no longer writes", "- `graph.mmd`, `graph.dot`, `graph.svg`: the component dependency graph", "");
  return out.join("\n");
}
