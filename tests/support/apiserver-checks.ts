/**
 * Checks the Kubernetes API server makes beyond the OpenAPI schema (pkg/apis/core/validation and
 * apimachinery's validation): name and label syntax, container and port names, port ranges,
 * requests not above limits. A schema-valid object failing one of these is refused on apply.
 */

type Obj = Record<string, any>;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Kinds whose names are DNS-1123 labels (or DNS-1035 for Services), not subdomains. */
const LABEL_NAMED = new Set(["Namespace"]);
/** RBAC names are path segments (ValidateRBACName): anything but "/", "%", "." and "..". */
const PATH_SEGMENT_NAMED = new Set(["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]);
const pathSegment = (s: string) => s.length > 0 && s !== "." && s !== ".." && !/[/%]/.test(s);

const subdomain = (s: string) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
const label1123 = (s: string) => s.length <= 63 && DNS1123_LABEL.test(s);

function labelKey(k: string): boolean {
  const parts = k.split("/");
  if (parts.length > 2) return false;
  const name = parts.pop()!;
  if (parts.length && !subdomain(parts[0]!)) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}
const labelValue = (v: unknown) => typeof v === "string" && v.length <= 63 && (v === "" || LABEL_NAME.test(v));

/** An IANA service name as ports use it: ≤ 15 chars, a letter somewhere, no "--". */
const portName = (s: string) => s.length <= 15 && IANA_SVC_NAME.test(s) && /[a-z]/.test(s) && !s.includes("--");

const SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A resource quantity as a number (cores or bytes); NaN if it is not one. */
export function quantity(q: unknown): number {
  if (typeof q === "number") return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/.exec(String(q));
  return m ? Number(m[1]) * SUFFIX[m[2] ?? ""]! : NaN;
}

/** Where the pod spec is, per workload kind. */
function podSpecOf(o: Obj): Obj | undefined {
  switch (o["kind"]) {
    case "Pod":
      return o["spec"];
    case "CronJob":
      return o["spec"]?.jobTemplate?.spec?.template?.spec;
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return o["spec"]?.template?.spec;
    default:
      return undefined;
  }
}

/** Every problem the API server would refuse the object for; empty when none. */
export function apiServerProblems(o: Obj): string[] {
  const out: string[] = [];
  const name: string = o["metadata"]?.name ?? "";
  const kind: string = o["kind"];
  if (kind === "Service" ? !(name.length <= 63 && DNS1035_LABEL.test(name)) : LABEL_NAMED.has(kind) ? !label1123(name) : PATH_SEGMENT_NAMED.has(kind) ? !pathSegment(name) : !subdomain(name)) out.push(`metadata.name ${JSON.stringify(name)} is not a valid ${kind} name`);
  for (const [where, labels] of [["metadata.labels", o["metadata"]?.labels], ...(podSpecOf(o) ? [["pod template labels", (o["kind"] === "CronJob" ? o["spec"]?.jobTemplate?.spec?.template : o["spec"]?.template)?.metadata?.labels]] : [])] as [string, Obj | undefined][]) {
    for (const [k, v] of Object.entries(labels ?? {})) {
      if (!labelKey(k)) out.push(`${where}: key ${JSON.stringify(k)} is not a valid label key`);
      if (!labelValue(v)) out.push(`${where}: value ${JSON.stringify(v)} of ${k} is not a valid label value`);
    }
  }
  for (const k of Object.keys(o["metadata"]?.annotations ?? {})) if (!labelKey(k)) out.push(`metadata.annotations: key ${JSON.stringify(k)} is not a valid annotation key`);

  const spec = podSpecOf(o);
  if (spec) {
    const containers: Obj[] = [...(spec["initContainers"] ?? []), ...(spec["containers"] ?? [])];
    const names = new Set<string>();
    const portNames = new Set<string>();
    for (const c of containers) {
      const cn: string = c["name"] ?? "";
      if (!label1123(cn)) out.push(`container name ${JSON.stringify(cn)} is not a DNS-1123 label`);
      if (names.has(cn)) out.push(`container name ${cn} is used twice`);
      names.add(cn);
      for (const p of c["ports"] ?? []) {
        const n = Number(p["containerPort"]);
        if (!(n >= 1 && n <= 65535)) out.push(`container ${cn}: containerPort ${p["containerPort"]} is out of range`);
        if (p["name"] !== undefined) {
          if (!portName(p["name"])) out.push(`container ${cn}: port name ${JSON.stringify(p["name"])} is not an IANA service name (≤ 15 chars)`);
          if (portNames.has(p["name"])) out.push(`port name ${p["name"]} is used twice in the pod`);
          portNames.add(p["name"]);
        }
      }
      for (const r of Object.keys(c["resources"]?.requests ?? {})) {
        const req = quantity(c["resources"].requests[r]);
        const lim = c["resources"]?.limits?.[r];
        if (Number.isNaN(req)) out.push(`container ${cn}: requests.${r} ${c["resources"].requests[r]} is not a quantity`);
        else if (lim !== undefined && req > quantity(lim)) out.push(`container ${cn}: requests.${r} ${c["resources"].requests[r]} is above limits.${r} ${lim}`);
      }
    }
  }
  if (kind === "Service") {
    const ports: Obj[] = o["spec"]?.ports ?? [];
    const seen = new Set<string>();
    for (const p of ports) {
      const n = Number(p["port"]);
      if (!(n >= 1 && n <= 65535)) out.push(`Service port ${p["port"]} is out of range`);
      if (ports.length > 1 && !p["name"]) out.push("Service with several ports: every port needs a name");
      if (p["name"] !== undefined && !label1123(p["name"])) out.push(`Service port name ${JSON.stringify(p["name"])} is not a DNS-1123 label`);
      if (p["name"] && seen.has(p["name"])) out.push(`Service port name ${p["name"]} is used twice`);
      if (p["name"]) seen.add(p["name"]);
      const t = p["targetPort"];
      if (typeof t === "number" ? !(t >= 1 && t <= 65535) : t !== undefined && !(/^\d+$/.test(String(t)) || portName(String(t)))) out.push(`Service targetPort ${JSON.stringify(t)} is neither a port number nor a port name`);
    }
  }
  return out;
}
