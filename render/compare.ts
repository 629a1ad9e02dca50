/**
 * Review in pull requests: what a render changes against an earlier one (`render --compare <dir>`),
 * the service call graph as a stable picture, and the images and charts the render runs. The
 * previous render is read from its files (manifests/), so any earlier render directory serves,
 * whichever version of the platform wrote it.
 */
import * as fs from "fs";
import * as path from "path";
import { loadAll } from "js-yaml";
import { serviceGraph } from "../components/service-graph";
import type { PlatformConfig } from "../config/schema";
import type { K8sObject } from "./gitops";
import type { RenderModel } from "./model";

type Obj = Record<string, any>;

/** An object of a render, keyed by component folder, kind, namespace and name. */
export interface RenderedObject {
  readonly component: string;
  readonly object: Obj;
}

const keyOf = (component: string, o: Obj): string => `${component}\u0000${o["kind"]}\u0000${o["metadata"]?.namespace ?? ""}\u0000${o["metadata"]?.name}`;
const labelOf = (o: Obj): string => `${o["kind"]} ${o["metadata"]?.namespace ? `${o["metadata"].namespace}/` : ""}${o["metadata"]?.name}`;

/** The objects of an earlier render directory (its manifests/<component>/*.yaml), or an error line naming the directory. */
export function previousRender(dir: string): Map<string, RenderedObject> | { error: string } {
  const root = path.join(dir, "manifests");
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) return { error: `--compare: ${dir} holds no earlier render (no manifests/ folder); expected the --out folder of a render` };
  const out = new Map<string, RenderedObject>();
  for (const component of fs.readdirSync(root).sort()) {
    const cdir = path.join(root, component);
    if (!fs.statSync(cdir).isDirectory()) continue;
    for (const f of fs.readdirSync(cdir).sort()) {
      if (!/\.ya?ml$/.test(f) || f === "kustomization.yaml") continue;
      for (const o of loadAll(fs.readFileSync(path.join(cdir, f), "utf8")) as Obj[]) {
        if (o && typeof o === "object" && o["kind"] && o["metadata"]?.name) out.set(keyOf(component, o), { component, object: o });
      }
    }
  }
  return out;
}

/** The current render's objects, keyed like previousRender's (through a YAML-equal plain copy). */
export function currentRender(model: RenderModel): Map<string, RenderedObject> {
  const out = new Map<string, RenderedObject>();
  for (const g of model.groups) for (const o of g.objects) out.set(keyOf(g.dir, o), { component: g.dir, object: JSON.parse(JSON.stringify(o)) as Obj });
  return out;
}

/** The leaf paths where two values differ (`spec.replicas`, `spec.template.spec.containers[0].image`). */
export function changedPaths(a: unknown, b: unknown, at = ""): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown) => v !== null && typeof v === "object";
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.max(a.length, b.length);
    return Array.from({ length: n }, (_, i) => changedPaths(a[i], b[i], `${at}[${i}]`)).flat();
  }
  if (isObj(a) && isObj(b) && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a as Obj), ...Object.keys(b as Obj)])].sort();
    return keys.flatMap((k) => changedPaths((a as Obj)[k], (b as Obj)[k], at ? `${at}.${k}` : k));
  }
  return [at || "(the object)"];
}

/** What changes, per component: objects added, removed, and changed with their changed fields. */
export interface ChangeSet {
  readonly added: RenderedObject[];
  readonly removed: RenderedObject[];
  readonly changed: (RenderedObject & { readonly fields: string[] })[];
}

export function compareRenders(previous: ReadonlyMap<string, RenderedObject>, current: ReadonlyMap<string, RenderedObject>): ChangeSet {
  const added: RenderedObject[] = [];
  const removed: RenderedObject[] = [];
  const changed: (RenderedObject & { fields: string[] })[] = [];
  for (const [k, c] of current) {
    const p = previous.get(k);
    if (!p) added.push(c);
    else {
      const fields = changedPaths(p.object, c.object);
      if (fields.length) changed.push({ ...c, fields });
    }
  }
  for (const [k, p] of previous) if (!current.has(k)) removed.push(p);
  const order = (a: RenderedObject, b: RenderedObject) => a.component.localeCompare(b.component) || labelOf(a.object).localeCompare(labelOf(b.object));
  return { added: added.sort(order), removed: removed.sort(order), changed: changed.sort(order) };
}

/** Fields listed per changed object before "and N more". */
const FIELDS_SHOWN = 8;

/** report.md's "What changes" section. */
export function whatChangesSection(changes: ChangeSet, against: string): string[] {
  const out = ["## What changes", "", `Against the render in \`${against}\`: ${changes.added.length} added, ${changes.changed.length} changed, ${changes.removed.length} removed.`, ""];
  const components = [...new Set([...changes.added, ...changes.removed, ...changes.changed].map((c) => c.component))].sort();
  if (!components.length) return [...out, "No object changes.", ""];
  out.push("| component | change | object | fields |", "| --- | --- | --- | --- |");
  for (const comp of components) {
    for (const c of changes.added.filter((x) => x.component === comp)) out.push(`| ${comp} | added | ${labelOf(c.object)} | |`);
    for (const c of changes.changed.filter((x) => x.component === comp)) {
      const shown = c.fields.slice(0, FIELDS_SHOWN).map((f) => `\`${f}\``).join(", ");
      out.push(`| ${comp} | changed | ${labelOf(c.object)} | ${shown}${c.fields.length > FIELDS_SHOWN ? `, and ${c.fields.length - FIELDS_SHOWN} more` : ""} |`);
    }
    for (const c of changes.removed.filter((x) => x.component === comp)) out.push(`| ${comp} | removed | ${labelOf(c.object)} | |`);
  }
  out.push("");
  return out;
}

/** Container images of the rendered pod templates: image → the workloads that run it. */
export function imagesOf(objects: readonly (K8sObject | Obj)[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const o of objects as Obj[]) {
    const pod = o["kind"] === "CronJob" ? o["spec"]?.jobTemplate?.spec?.template?.spec : o["kind"] === "Pod" ? o["spec"] : o["spec"]?.template?.spec;
    if (!pod || !["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"].includes(o["kind"])) continue;
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])] as Obj[]) {
      if (typeof c["image"] !== "string") continue;
      const who = labelOf(o);
      const list = out.get(c["image"]) ?? [];
      if (!list.includes(who)) list.push(who);
      out.set(c["image"], list);
    }
  }
  return new Map([...out.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v.sort()]));
}

/** report.md's "Images" section; with an earlier render, which images are new. */
export function imagesSection(current: readonly Obj[], previous?: readonly Obj[]): string[] {
  const now = imagesOf(current);
  const before = previous ? imagesOf(previous) : undefined;
  const out = ["## Images", "", "Every container image the render runs (the charts' included), and what runs it.", "", `| image | run by${before ? " | change" : ""} |`, `| --- | --- |${before ? " --- |" : ""}`];
  for (const [img, who] of now) out.push(`| \`${img}\` | ${who.join(", ")}${before ? ` | ${before.has(img) ? "" : "new"}` : ""} |`);
  if (before) for (const [img, who] of before) if (!now.has(img)) out.push(`| \`${img}\` | ${who.join(", ")} | gone |`);
  out.push("");
  return out;
}

/** A service's node id: prefixed, so no service name is a Mermaid keyword (`end`, `graph`). */
const node = (s: string) => `svc_${s.replace(/[^A-Za-z0-9_]/g, "_")}`;

/**
 * The service call graph (Mermaid): who calls whom, over which protocol, through which policy; the
 * gateway's exposures; Kafka topics from producers to consumers. One line per node and edge,
 * sorted, so the same stack gives the same file and a one-service change changes only its lines.
 */
export function callGraph(config: PlatformConfig): string {
  const g = serviceGraph(config);
  const byName = new Map(g.services.map((s) => [s.name, s]));
  const nodes = g.services.map((s) => `  ${node(s.name)}["${s.name}<br/>${s.namespace} · ${s.protocol}"]`).sort();
  const policy = (to: string) => (config.mesh.enabled ? `allow-${to}` : "no mesh policy");
  const edges: string[] = [];
  for (const c of g.calls) {
    const to = byName.get(c.to)!;
    const what = [to.protocol, c.methods?.join(" ") ?? "", c.paths?.join(" ") ?? ""].filter(Boolean).join(" ");
    edges.push(`  ${node(c.from)} -->|"${what} · ${policy(c.to)}"| ${node(c.to)}`);
  }
  if (g.exposures.length) {
    // Not `svc_`-prefixed: no service's node id can take it.
    nodes.push(`  GATEWAY(["gateway<br/>${config.gateway.implementation}"])`);
    for (const e of g.exposures) edges.push(`  GATEWAY -->|"https ${e.spec.hosts.join(" ")} · ${config.mesh.enabled ? "gateway principal" : "no mesh policy"}"| ${node(e.service)}`);
  }
  const producers = new Map<string, string[]>();
  const consumers = new Map<string, string[]>();
  for (const u of g.topicUse) (u.role === "produce" ? producers : consumers).set(u.topic, [...((u.role === "produce" ? producers : consumers).get(u.topic) ?? []), u.service]);
  for (const [topic, ps] of producers) for (const p of ps) for (const c of consumers.get(topic) ?? []) if (p !== c) edges.push(`  ${node(p)} -.->|"kafka ${topic} · KafkaUser ACL"| ${node(c)}`);
  return ["flowchart LR", ...nodes.sort(), ...[...new Set(edges)].sort(), ""].join("\n");
}
