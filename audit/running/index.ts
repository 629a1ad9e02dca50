/**
 * Proofs over the running platform: the whole render (chart objects included) plus the pods
 * controllers create, checked for what a cluster would do with them. Each proof is a section of
 * report.md and each failure a mandatory audit finding naming the subject and the config key that
 * controls it (docs/render.md "The running platform").
 */
import type { PlatformConfig } from "../../config/schema";
import { isHelmChart, isKubernetesObject } from "../../render/gitops";
import type { RecordedResource, RunResult } from "../../render/harness";
import { plainProps } from "../analyzer";
import type { Verdicts, Violation } from "../verdicts";
import { admit, AdmissionResult } from "./admission";
import { flowProofs, FlowVerdict } from "./flows";
import { kyvernoAdmit, KyvernoResult } from "./kyverno";
import { natsAccess, NatsAccessResult } from "./nats";
import { accessProof, AccessProof } from "./access";
import { ownershipFindings, scrapedBy } from "./ownership";
import { placementProofs, PlacementResult } from "./placement";
import { allPods, LiveObject, PodSet } from "./pods";
import { flaggerObjects } from "./flagger";

/** One thing a proof found wrong. */
export interface Finding {
  readonly proof: "flows" | "admission" | "placement" | "ownership" | "access" | "matrix";
  /** The flow, pod set or object it is about. */
  readonly subject: string;
  readonly message: string;
  /** The config key (or chart values key) that controls it. */
  readonly key: string;
}

export interface RunningProofs {
  readonly objects: readonly LiveObject[];
  readonly pods: readonly PodSet[];
  readonly admission: AdmissionResult;
  /** The render's Kyverno policies over the same pods. */
  readonly kyverno: KyvernoResult;
  readonly flows: readonly FlowVerdict[];
  readonly placement: PlacementResult;
  /** NATS permissions on the real server against the declarations. */
  readonly nats: NatsAccessResult;
  /** The access matrix from the declarations, against what the objects grant. */
  readonly access: AccessProof;
  readonly findings: readonly Finding[];
  /** Checks that could not run (a missing tool), named. */
  readonly notRun: readonly string[];
}

/** Every Kubernetes object the render applies, as the API server receives it; and the chart each came from. */
export function liveObjects(resources: readonly RecordedResource[]): { objects: LiveObject[]; chartOf: (o: LiveObject) => string | undefined } {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const chart = new Map<LiveObject, string>();
  const objects: LiveObject[] = [];
  for (const r of resources) {
    if (!isKubernetesObject(r)) continue;
    const o = plainProps(r.inputs) as LiveObject;
    if (!o?.metadata?.name) continue;
    objects.push(o);
    const parent = r.parent ? byUrn.get(r.parent) : undefined;
    if (parent && isHelmChart(parent.type)) chart.set(o, String((parent.inputs as { chart?: unknown }).chart ?? parent.name).split("/").slice(-2).join("/"));
  }
  return { objects, chartOf: (o) => chart.get(o) };
}

/** The render's objects plus what controllers make as objects the proofs read (Flagger's primary, Services and route). */
export function runningObjects(rendered: readonly LiveObject[]): LiveObject[] {
  return [...rendered, ...flaggerObjects(rendered)];
}

/** Runs the proofs over a render. A tool given as null is not run (reported as such). */
export function proveRunning(run: Pick<RunResult, "resources">, config: PlatformConfig, opts: { podSecurity?: string | null; kyverno?: string | null; natsAuthz?: string | null } = {}): RunningProofs {
  const live = liveObjects(run.resources);
  const chartOf = live.chartOf;
  // The render plus what Flagger makes from its Canaries: the primary serves, behind Flagger's Services and route.
  const objects = runningObjects(live.objects);
  const pods = allPods(objects, chartOf);
  const admission = opts.podSecurity === null ? { ran: false as const, missing: "pod-security (disabled)" } : admit(objects, pods, opts.podSecurity);
  const kyverno = opts.kyverno === null ? { ran: false as const, missing: "kyverno (disabled)" } : kyvernoAdmit(objects, pods, opts.kyverno);
  // Which pods the stack's Prometheus scrapes: the scrape flows and the coverage check both need it.
  const scraped = scrapedBy(objects, pods);
  const flows = flowProofs(objects, pods, config, scraped);
  const placement = placementProofs(objects, pods, config);
  const nats = opts.natsAuthz === null ? { ran: false as const, missing: "nats-authz (disabled)" } : natsAccess(objects, config, opts.natsAuthz);
  const access = accessProof(objects, pods, config);
  const findings: Finding[] = [];
  if (admission.ran) {
    for (const v of admission.verdicts) {
      if (!v.allowed) findings.push({ proof: "admission", subject: v.pods.id, message: `Pod Security "${v.level}" refuses its pods: ${v.forbidden.join("; ")}`, key: admissionKey(v.pods) });
    }
  }
  if (kyverno.ran) {
    for (const v of kyverno.verdicts) if (v.refused.length) findings.push({ proof: "admission", subject: v.pods.id, message: `Kyverno refuses its pods: ${v.refused.join("; ")}`, key: "platform:security (components/security/admission-policies.ts)" });
  }
  for (const f of flows) if (f.flow.required && !f.allowed) findings.push({ proof: "flows", subject: f.flow.name, message: `required flow is refused: ${f.reason}`, key: f.flow.key });
  findings.push(...placement.findings, ...ownershipFindings(objects, pods, scraped));
  if (nats.ran) {
    for (const v of nats.verdicts) {
      if (v.expected !== v.allowed) findings.push({ proof: "access", subject: `NATS: ${v.identity} ${v.op} ${v.target}`, message: v.expected ? `declared, and the server refuses it: ${v.detail}` : `not declared, and the server allows it (${v.detail})`, key: v.key });
    }
  }
  for (const g of access.extra) findings.push({ proof: "matrix", subject: `${g.service} ${g.kind} ${g.grant}`, message: "granted by the rendered objects, and not declared", key: `platform:services.${g.service}` });
  for (const g of access.missing) findings.push({ proof: "matrix", subject: `${g.service} ${g.kind} ${g.grant}`, message: "declared, and no rendered object grants it", key: `platform:services.${g.service}` });
  const notRun = [
    ...(admission.ran ? [] : [`admission (Pod Security): not installed: ${admission.missing}`]),
    ...(kyverno.ran ? [] : [`admission (Kyverno): not installed: ${kyverno.missing}`]),
    ...(!nats.ran && "missing" in nats ? [`access (NATS): not installed: ${nats.missing}`] : []),
  ];
  return { objects, pods, admission, kyverno, flows, placement, nats, access, findings, notRun };
}

/** The config key that shapes a pod set's security context. */
function admissionKey(p: PodSet): string {
  if (p.source.startsWith("istiod")) return "istiod chart values gateways.seccompProfile (components/mesh/istio-ambient.ts)";
  if (p.source.startsWith("envoy-gateway")) return "EnvoyProxy spec.provider.kubernetes.envoyDeployment (components/gateway/routing.ts envoyProxy)";
  if (p.source.startsWith("strimzi")) return "platform:messaging.kafka (Kafka and KafkaNodePool templates)";
  if (p.chart) return `${p.chart} chart values`;
  return "platform:security.podSecurity";
}

/** The findings as mandatory stack-level audit violations. A proof that could not run is not a violation: the CLI reports it as not covered. */
export function runningViolations(p: RunningProofs): Violation[] {
  return p.findings.map((f) => ({ policy: `running-${f.proof}`, enforcementLevel: "mandatory", message: `${f.subject}: ${f.message} [controlled by: ${f.key}]` }));
}

/** The pack's verdicts with the proofs' findings added as stack-level violations. */
export function withRunning(v: Verdicts, p: RunningProofs): Verdicts {
  const extra = runningViolations(p);
  return { ...v, stack: [...v.stack, ...extra], mandatory: v.mandatory + extra.length };
}
