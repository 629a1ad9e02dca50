/**
 * Ownership and coverage over the running platform:
 * - no field the platform sets that a controller owns (spec.replicas of a workload an HPA scales:
 *   every apply would reset the HPA's choice; Kubernetes' HPA docs say to leave it out);
 * - no two routes claiming one hostname and path on one Gateway listener;
 * - every pod that serves metrics is scraped: selected by a PodMonitor, or by a Service a
 *   ServiceMonitor selects, which the stack's Prometheus selects;
 * - every container of a controller-made pod has CPU and memory requests and a memory limit (the
 *   rendered workloads' containers are checked by the pack's container-resources policy).
 */
import { containersOf, Obj, selects } from "../../policy/k8s";
import type { Finding } from "./index";
import { hpaFor, idOf, indexOf, LiveObject, madeByFlagger, nsOf, PodSet } from "./pods";

/** Container ports whose name says they serve Prometheus metrics. */
const METRICS_PORT = /metric|prom|monitoring/;

/** Whether a pod set serves Prometheus metrics, and on which port (name or number). */
export function metricsPort(p: PodSet): string | undefined {
  if (p.metadata.annotations["prometheus.io/scrape"] === "true") return p.metadata.annotations["prometheus.io/port"] ?? "annotated";
  for (const c of p.spec["containers"] ?? []) for (const port of c["ports"] ?? []) if (typeof port["name"] === "string" && METRICS_PORT.test(port["name"])) return port["name"];
  return undefined;
}

/** Whether a namespace selector of a monitor or of Prometheus admits `ns` (null: only `own`). */
function nsAdmits(sel: Obj | undefined | null, ns: string, own: string, nsLabels: (n: string) => Record<string, string>, style: "monitor" | "prometheus"): boolean {
  if (style === "monitor") {
    if (!sel || (!sel["any"] && !sel["matchNames"])) return ns === own;
    return sel["any"] === true || (sel["matchNames"] as string[]).includes(ns);
  }
  if (sel === undefined || sel === null) return ns === own;
  return Object.keys(sel).length === 0 || selects(sel, nsLabels(ns));
}

/** The pods each Prometheus scrapes through monitors: pod set id → monitor that covers it. */
export function scrapedBy(objects: readonly LiveObject[], pods: readonly PodSet[]): Map<string, string> {
  const ix = indexOf(objects);
  const withNameLabel = ix.nsLabels;
  const podsByNs = new Map<string, PodSet[]>();
  for (const p of pods) {
    const l = podsByNs.get(p.namespace);
    if (l) l.push(p);
    else podsByNs.set(p.namespace, [p]);
  }
  const out = new Map<string, string>();
  for (const prom of ix.kind("Prometheus")) {
    const ps: Obj = prom["spec"] ?? {};
    const promNs = nsOf(prom);
    const monitors = [...ix.kind("ServiceMonitor"), ...ix.kind("PodMonitor")].filter((m) => {
      const isSm = m.kind === "ServiceMonitor";
      const sel = isSm ? ps["serviceMonitorSelector"] : ps["podMonitorSelector"];
      const nsSel = isSm ? ps["serviceMonitorNamespaceSelector"] : ps["podMonitorNamespaceSelector"];
      // A nil monitor selector selects no monitor; {} selects every one.
      if (sel === undefined || sel === null) return false;
      return (Object.keys(sel).length === 0 || selects(sel, m.metadata.labels ?? {})) && nsAdmits(nsSel, nsOf(m), promNs, withNameLabel, "prometheus");
    });
    for (const m of monitors) {
      const ms: Obj = m["spec"] ?? {};
      const nsSel: Obj | undefined = ms["namespaceSelector"];
      const candidates = nsSel?.["any"] === true ? pods : ((nsSel?.["matchNames"] as string[] | undefined) ?? [nsOf(m)]).flatMap((n) => podsByNs.get(n) ?? []);
      for (const p of candidates) {
        if (out.has(p.id) || !nsAdmits(ms["namespaceSelector"], p.namespace, nsOf(m), withNameLabel, "monitor")) continue;
        if (m.kind === "PodMonitor") {
          if (selects(ms["selector"] ?? {}, p.metadata.labels) || Object.keys(ms["selector"] ?? {}).length === 0) out.set(p.id, idOf(m));
          continue;
        }
        const svc = ix
          .inNs("Service", p.namespace)
          .find((s) => (Object.keys(ms["selector"] ?? {}).length === 0 || selects(ms["selector"], s.metadata.labels ?? {})) && s["spec"]?.selector && selects({ matchLabels: s["spec"].selector }, p.metadata.labels));
        if (svc) out.set(p.id, `${idOf(m)} via ${idOf(svc)}`);
      }
    }
  }
  return out;
}

/** `scraped`: scrapedBy(objects, pods). */
export function ownershipFindings(objects: readonly LiveObject[], pods: readonly PodSet[], scraped: ReadonlyMap<string, string>): Finding[] {
  const out: Finding[] = [];
  const chartKey = (p: PodSet, what: string) => (p.chart ? `${p.chart} chart values (${what})` : what);

  // Replicas under an HPA, in what the render applies (Flagger sets its primary's once, at creation).
  for (const w of objects) {
    if ((w.kind !== "Deployment" && w.kind !== "StatefulSet") || w["spec"]?.replicas === undefined || madeByFlagger(w)) continue;
    const hpa = hpaFor(objects, w);
    if (hpa) out.push({ proof: "ownership", subject: idOf(w), message: `sets spec.replicas (${w["spec"].replicas}) while ${idOf(hpa)} owns the scale: every apply resets it`, key: "platform:services[].replicas" });
  }

  // What Flagger makes (its Services, primary, HPA and the weighted HTTPRoute) the render must not apply too.
  const rendered = new Map(objects.filter((o) => !madeByFlagger(o)).map((o) => [`${o.kind}\0${nsOf(o)}\0${o.metadata.name}`, o]));
  for (const o of objects) {
    const owner = madeByFlagger(o);
    if (owner && rendered.has(`${o.kind}\0${nsOf(o)}\0${o.metadata.name}`)) {
      out.push({ proof: "ownership", subject: idOf(o), message: `Flagger makes it from Canary ${nsOf(o)}/${owner["name"]} and the render applies it too: two owners of every field`, key: `platform:services.${owner["name"]}.rollout` });
    }
  }

  // One hostname + path per listener.
  const claims = new Map<string, string>();
  for (const r of objects.filter((o) => o.kind === "HTTPRoute" || o.kind === "GRPCRoute")) {
    const s: Obj = r["spec"] ?? {};
    const hosts: string[] = s["hostnames"]?.length ? s["hostnames"] : ["*"];
    const paths: string[] = (s["rules"] ?? []).flatMap((rule: Obj) => (rule["matches"]?.length ? rule["matches"] : [{}]).map((m: Obj) => JSON.stringify({ path: m["path"] ?? m["method"] ?? "/", headers: m["headers"] ?? [] })));
    for (const parent of s["parentRefs"] ?? []) {
      if ((parent["kind"] ?? "Gateway") !== "Gateway") continue; // mesh routes attach to Services: one producer each
      const listener = `${parent["namespace"] ?? nsOf(r)}/${parent["name"]}/${parent["sectionName"] ?? "*"}`;
      for (const h of hosts) {
        for (const p of new Set(paths)) {
          const k = `${listener} ${h} ${p}`;
          const prior = claims.get(k);
          if (prior && prior !== idOf(r)) out.push({ proof: "ownership", subject: idOf(r), message: `claims host ${h} and match ${p} on listener ${listener}, already claimed by ${prior}`, key: "platform:services[].exposure" });
          else claims.set(k, idOf(r));
        }
      }
    }
  }

  // Metrics are scraped.
  if (indexOf(objects).kind("Prometheus").length) {
    for (const p of pods) {
      const port = metricsPort(p);
      if (port && !scraped.has(p.id)) out.push({ proof: "ownership", subject: p.id, message: `serves metrics (${port}) that no ServiceMonitor or PodMonitor selected by the stack's Prometheus scrapes`, key: chartKey(p, "serviceMonitor / podMonitor") });
    }
  }

  // Requests and a memory limit on every container of the pods controllers create; the rendered
  // workloads' are the pack's (policy container-resources, with its documented exemptions).
  for (const p of pods.filter((p) => p.source !== "rendered")) {
    for (const c of containersOf(p.spec)) {
      if (c.list === "ephemeralContainers") continue;
      const res: Obj = c.container["resources"] ?? {};
      const missing = [!res["requests"]?.cpu && "cpu request", !res["requests"]?.memory && "memory request", !res["limits"]?.memory && "memory limit"].filter(Boolean);
      if (missing.length) out.push({ proof: "ownership", subject: `${p.id} ${c.label}`, message: `runs without ${missing.join(", ")}`, key: chartKey(p, "resources") });
    }
  }
  return out;
}
