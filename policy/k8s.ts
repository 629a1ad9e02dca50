/**
 * What the policies know about Kubernetes objects as Pulumi presents them: the type token
 * (`kubernetes:<group>/<version>:<Kind>`) and the resource inputs (apiVersion, kind, metadata, spec).
 * Pure functions over plain data: no SDK class is needed, so the pack does not depend on
 * @pulumi/kubernetes and sees objects from `new k8s.apps.v1.Deployment`, `yaml.ConfigFile` children and
 * plain manifests alike.
 */

/**
 * Whether these props sit behind @pulumi/policy's unknown-checking proxy, i.e. may hold a value
 * unknown during preview (reading it throws). The SDK's server always wraps props; the in-process
 * analyzer only props that hold an unknown. A shortcut that reads more or in another order than
 * the plain code must not be taken there: which read throws first decides the verdict.
 */
export function holdsUnknowns(o: object): boolean {
  return (o as Record<string, unknown>)["__isSpecialProxy"] === true; // @pulumi/policy proxy.js isSpecialProxy
}

/** A type token split into its parts; undefined for non-Kubernetes resources. */
export interface K8sType {
  /** API group; "core" for the legacy group (Pulumi's spelling). */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** A chart as the program registers it: a Chart v4 component (its objects are its children). */
export const HELM_RELEASE_TYPE = "kubernetes:helm.sh/v4:Chart";
/** A chart kept a Helm release because it needs its hooks (docs/render.md says which and why). */
export const HELM_V3_RELEASE_TYPE = "kubernetes:helm.sh/v3:Release";
/** Whether a type is one of the platform's charts (Chart v4, or a Helm v3 Release). */
export const isHelmChart = (type: string): boolean => type === HELM_RELEASE_TYPE || type === HELM_V3_RELEASE_TYPE;

// Every policy parses the type of every resource it looks at; a stack has few distinct types.
const parsedTypes = new Map<string, K8sType | undefined>();

export function parseType(type: string): K8sType | undefined {
  if (parsedTypes.has(type)) return parsedTypes.get(type);
  const m = /^kubernetes:([^/:]+)\/([^:]+):(.+)$/.exec(type);
  const t = m ? Object.freeze({ group: m[1]!, version: m[2]!, kind: m[3]! }) : undefined;
  if (parsedTypes.size >= 10_000) parsedTypes.clear(); // bounded, whatever the input
  parsedTypes.set(type, t);
  return t;
}

/** The Pulumi type token of an object with this apiVersion and kind (core group spelled "core"). */
export function typeToken(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/", 2) : ["core", apiVersion];
  return `kubernetes:${group}/${version}:${kind}`;
}

/** Groups that serve pod-bearing workload kinds (incl. long-removed versions still found in manifests). */
const WORKLOAD_GROUPS = new Set(["core", "apps", "extensions", "batch"]);

/** Where the pod template sits in each workload kind. */
const POD_PATHS: Record<string, readonly string[]> = {
  Pod: [],
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  ReplicationController: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

export const WORKLOAD_KINDS = Object.keys(POD_PATHS);

export type Obj = Record<string, any>;

export interface Container {
  readonly name?: string;
  readonly image?: string;
  readonly securityContext?: Obj;
  readonly resources?: Obj;
  readonly ports?: Obj[];
  readonly env?: Obj[];
  readonly imagePullPolicy?: string;
}

export type ContainerList = "containers" | "initContainers" | "ephemeralContainers";
export const CONTAINER_LISTS: readonly ContainerList[] = ["containers", "initContainers", "ephemeralContainers"];

/** One container with the list it came from. */
export interface ContainerRef {
  readonly list: ContainerList;
  readonly container: Container;
  /** `containers[app]`, for messages. */
  readonly label: string;
}

/** The pod template of a workload: its metadata (annotations) and spec. */
export interface PodTemplate {
  readonly metadata: Obj;
  readonly spec: Obj;
}

export function isWorkloadType(type: string): boolean {
  const t = parseType(type);
  return !!t && WORKLOAD_GROUPS.has(t.group) && t.kind in POD_PATHS;
}

/** The pod template of a workload object (Pod: the object itself), or undefined if it has none. */
export function podTemplate(type: string, props: Obj): PodTemplate | undefined {
  const t = parseType(type);
  if (!t || !WORKLOAD_GROUPS.has(t.group)) return undefined;
  const path = POD_PATHS[t.kind];
  if (!path) return undefined;
  let cur: any = props;
  for (const k of path) cur = cur?.[k];
  if (!cur || typeof cur !== "object") return undefined;
  return { metadata: (cur.metadata as Obj) ?? {}, spec: (cur.spec as Obj) ?? {} };
}

/** Every container of a pod spec: containers, initContainers and ephemeralContainers. */
export function containersOf(spec: Obj): ContainerRef[] {
  const out: ContainerRef[] = [];
  for (const list of CONTAINER_LISTS) {
    const cs = spec[list];
    if (!Array.isArray(cs)) continue;
    for (const c of cs) out.push({ list, container: c as Container, label: `${list}[${(c as Container)?.name ?? "?"}]` });
  }
  return out;
}

/** A container's security-context field, else the pod's: what the kubelet runs with. */
export function effective<T = unknown>(spec: Obj, c: Container, field: string): T | undefined {
  const own = c.securityContext?.[field];
  return (own !== undefined && own !== null ? own : spec["securityContext"]?.[field]) as T | undefined;
}

export function metadataOf(props: Obj): { name?: string; namespace?: string; labels: Record<string, string>; annotations: Record<string, string> } {
  const m = (props["metadata"] as Obj) ?? {};
  return { name: m["name"], namespace: m["namespace"], labels: m["labels"] ?? {}, annotations: m["annotations"] ?? {} };
}

/** Whether a label selector (matchLabels + matchExpressions) selects these labels. */
export function selects(selector: Obj | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  const ml: Record<string, string> = selector["matchLabels"] ?? {};
  const exprs: Obj[] = selector["matchExpressions"] ?? [];
  if (Object.keys(ml).length === 0 && exprs.length === 0) return true; // {} selects everything (policy/v1)
  for (const [k, v] of Object.entries(ml)) if (labels[k] !== v) return false;
  for (const e of exprs) {
    const has = e["key"] in labels;
    const vals: string[] = e["values"] ?? [];
    switch (e["operator"]) {
      case "In":
        if (!has || !vals.includes(labels[e["key"]]!)) return false;
        break;
      case "NotIn":
        if (has && vals.includes(labels[e["key"]]!)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
