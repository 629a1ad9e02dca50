/**
 * The whole render applied to a real API server, as `pulumi up` would apply it: group by group in
 * the install order, namespaces and CRDs first within a group, every object by server-side apply
 * with strict field validation. What the server refuses, warns about, changes on a second apply,
 * or keeps after deletion is what a cluster would do with the render; the pods the controllers
 * would create are created (dry-run) through real admission too.
 */
import { liveObjects, runningObjects } from "../audit/running";
import { allPods, idOf, LiveObject, PodSet } from "../audit/running/pods";
import { groupLevels, RenderModel } from "../render/model";
import { ApiClient, ApiResource, ApiResponse, FIELD_MANAGER, messageOf } from "./api";

/**
 * Kinds applied as a server-side dry-run only: they would make the API server call services that
 * do not run here (admission webhooks with failurePolicy Fail would refuse everything after them;
 * an APIService would break discovery of its group). The server still validates them in full.
 */
export const DRY_RUN_ONLY: Readonly<Record<string, string>> = {
  ValidatingWebhookConfiguration: "its webhook service does not run here",
  MutatingWebhookConfiguration: "its webhook service does not run here",
  APIService: "its aggregated API server does not run here",
};

export interface AppliedObject {
  /** `Kind namespace/name`. */
  readonly id: string;
  /** The component (install group) it belongs to. */
  readonly group: string;
  readonly outcome: "applied" | "dry-run" | "refused";
  /** The server's message when refused. */
  readonly message?: string;
  readonly warnings: readonly string[];
}

export interface PodAdmission {
  /** The pod set (workload or controller) whose pod was sent. */
  readonly id: string;
  readonly source: string;
  readonly admitted: boolean;
  readonly message?: string;
  readonly warnings: readonly string[];
}

export interface ControllerPods {
  /** The workload the real controller made pods for. */
  readonly id: string;
  /** Pods the controller created (they stay Pending: no scheduler or kubelet). */
  readonly created: number;
  readonly expected: number;
  /** Why the controller could not create them (its FailedCreate event), if it could not. */
  readonly failed?: string;
}

export interface E2eRun {
  readonly version: string;
  readonly objects: readonly AppliedObject[];
  /** Objects a second identical apply changed (fields other than status and bookkeeping) or refused, and how. */
  readonly unstable: readonly { readonly id: string; readonly changed: string }[];
  readonly pods: readonly PodAdmission[];
  /** Pods the real workload controllers (kube-controller-manager) created. */
  readonly controllerPods: readonly ControllerPods[];
  /** The render's identities against the server's objects managed by the check. */
  readonly inventory: { readonly missing: readonly string[]; readonly extra: readonly string[]; readonly duplicates: readonly string[] };
  /** What deletion left behind (empty when everything went); undefined when not deleted. */
  readonly remaining: readonly string[] | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `f` over `items` with at most `n` in flight, keeping order of results. */
async function pool<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]!);
      }
    }),
  );
  return out;
}

/** Label of what the check creates in a controller's stead (a controller-made pod's ServiceAccount). */
const MADE_FOR_CONTROLLER = "platform.e2e/made-for-controller";
const ok = (r: ApiResponse) => r.status >= 200 && r.status < 300;
const FIRST = new Set(["Namespace", "CustomResourceDefinition"]);

/** The objects of each group, as the API server receives them, groups in install order. */
export function groupObjects(model: RenderModel): { group: string; objects: LiveObject[] }[] {
  return groupLevels(model).flatMap((level) =>
    level.map((name) => {
      const g = model.groups.find((x) => x.name === name)!;
      return { group: name, objects: liveObjects(g.resources).objects };
    }),
  );
}

/**
 * Applies a render's groups (groupObjects: in install order) to the server behind `client`, with
 * kube-controller-manager running. `deleteAfter`: delete everything again (reverse order) and
 * report what stays.
 */
export async function applyRender(client: ApiClient, groups: readonly { group: string; objects: readonly LiveObject[] }[], opts: { deleteAfter: boolean; version: string }): Promise<E2eRun> {
  await client.discover();
  const results: AppliedObject[] = [];
  const applied: { o: LiveObject; id: string }[] = [];

  for (const { group, objects } of groups) {
    const first = objects.filter((o) => FIRST.has(o.kind));
    const rest = objects.filter((o) => !FIRST.has(o.kind));
    for (const batch of [first, rest]) {
      const rs = await pool(batch, 8, async (o) => {
        const dryRun = o.kind in DRY_RUN_ONLY;
        const r = await client.apply(o, dryRun);
        const res: AppliedObject = ok(r)
          ? { id: idOf(o), group, outcome: dryRun ? "dry-run" : "applied", warnings: r.warnings }
          : { id: idOf(o), group, outcome: "refused", message: `${r.status ? `${r.status} ` : ""}${messageOf(r)}`, warnings: r.warnings };
        if (ok(r) && !dryRun) applied.push({ o, id: idOf(o) });
        return res;
      });
      results.push(...rs);
      if (batch === first && batch.some((o) => o.kind === "CustomResourceDefinition")) {
        await crdsEstablished(client, batch.filter((o) => o.kind === "CustomResourceDefinition"));
        await client.discover();
      }
    }
  }

  // A second identical apply must change nothing: what `pulumi preview --expect-no-changes` asks.
  const unstable: { id: string; changed: string }[] = [];
  await pool(applied, 8, async (a) => {
    if (a.o.kind in DRY_RUN_ONLY) return;
    const before = await client.get(a.o);
    const r = await client.apply(a.o, false);
    // The server may rewrite an object only to restamp its managedFields (a known SSA quirk); that is no change.
    if (!ok(r)) unstable.push({ id: a.id, changed: `refused the second time: ${messageOf(r)}` });
    const changed = ok(r) && ok(before) ? changedFields(before.body, r.body, a.o) : [];
    if (changed.length) unstable.push({ id: a.id, changed: changed.join(", ") });
  });

  const all = groups.flatMap((g) => g.objects);
  const pods = await admitPods(client, all);
  const controllerPods = await controllersCreated(client, all);
  const inventory = await inventoryOf(client, all);
  const remaining = opts.deleteAfter ? await deleteAll(client, applied.map((a) => a.o)) : undefined;
  return { version: opts.version, objects: results, unstable: unstable.sort((a, b) => a.id.localeCompare(b.id)), pods, controllerPods, inventory, remaining };
}

async function crdsEstablished(client: ApiClient, crds: readonly LiveObject[]): Promise<void> {
  const until = Date.now() + 60_000;
  for (const c of crds) {
    while (Date.now() < until) {
      const r = await client.get(c);
      if (!ok(r)) break; // refused: already reported
      if ((r.body?.status?.conditions ?? []).some((x: any) => x.type === "Established" && x.status === "True")) break;
      await sleep(100);
    }
  }
}

/**
 * Top-level and second-level fields that differ between two versions of an object (metadata
 * bookkeeping ignored). Of labels and annotations only the keys the applied object sets count: a
 * controller may add its own at any moment (the Deployment controller's
 * `deployment.kubernetes.io/revision`, written between the read and the second apply on a busy
 * machine), and that is not a change the apply made.
 */
function changedFields(a: any, b: any, applied: LiveObject): string[] {
  const out: string[] = [];
  const skip = new Set(["resourceVersion", "managedFields", "generation", "creationTimestamp", "uid"]);
  const declared = (field: "labels" | "annotations", v: any) => Object.fromEntries(Object.keys(((applied.metadata as any)?.[field] ?? {}) as object).map((key) => [key, v?.[key]]));
  for (const k of new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])) {
    if (k === "status") continue; // the controllers' to write, not the apply's
    const x = a?.[k];
    const y = b?.[k];
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    if (x && y && typeof x === "object" && typeof y === "object" && !Array.isArray(x)) {
      for (const k2 of new Set([...Object.keys(x), ...Object.keys(y)])) {
        if (k === "metadata" && skip.has(k2)) continue;
        if (k === "metadata" && (k2 === "labels" || k2 === "annotations")) {
          if (JSON.stringify(declared(k2, x[k2])) !== JSON.stringify(declared(k2, y[k2]))) out.push(`${k}.${k2}`);
          continue;
        }
        if (JSON.stringify(x[k2]) !== JSON.stringify(y[k2])) out.push(`${k}.${k2}`);
      }
    } else out.push(k);
  }
  return out;
}

/**
 * One pod per pod set, created as a dry-run: the pods the platform's workloads and its operators
 * (Strimzi, istiod's waypoints, Envoy Gateway, prometheus-operator, Flagger) would create, judged by the
 * real admission chain (Pod Security at the namespace's level, ServiceAccount, Priority,
 * LimitRanger, ResourceQuota, ValidatingAdmissionPolicy). A controller creates its pods'
 * ServiceAccount itself; the check does so for it first, so only what the render owns is judged.
 */
async function admitPods(client: ApiClient, objects: readonly LiveObject[]): Promise<PodAdmission[]> {
  // Flagger's primary copies are controller pods too (audit/running/flagger.ts).
  const sets = allPods(runningObjects(objects));
  const controllerSas = new Set<string>();
  for (const s of sets) {
    const sa = s.spec["serviceAccountName"] ?? "default";
    if (s.source !== "rendered" && sa !== "default") controllerSas.add(`${s.namespace}/${sa}`);
  }
  for (const key of controllerSas) {
    const [namespace, name] = key.split("/") as [string, string];
    const sa = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } };
    if (!ok(await client.get(sa))) await client.create({ ...sa, metadata: { ...sa.metadata, labels: { [MADE_FOR_CONTROLLER]: "true" } } } as any, false);
  }
  return pool(sets, 8, async (s: PodSet) => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { generateName: `${s.name.slice(0, 50)}-`, namespace: s.namespace, labels: s.metadata.labels, annotations: s.metadata.annotations },
      spec: s.spec,
    };
    const r = await client.create(pod, true);
    return ok(r)
      ? { id: s.id, source: s.source, admitted: true, warnings: r.warnings }
      : { id: s.id, source: s.source, admitted: false, message: messageOf(r), warnings: r.warnings };
  });
}

/** Workloads whose pods kube-controller-manager's controllers create without a node. */
const CONTROLLED = new Set(["Deployment", "StatefulSet", "Job"]);

/** Waits for the real controllers' pods (or their FailedCreate events) for each rendered Deployment, StatefulSet and Job. */
async function controllersCreated(client: ApiClient, objects: readonly LiveObject[]): Promise<ControllerPods[]> {
  const workloads = objects.filter((o) => CONTROLLED.has(o.kind));
  const expected = (o: LiveObject) => (o.kind === "Job" ? Number(o["spec"]?.parallelism ?? 1) : o.kind === "StatefulSet" && o["spec"]?.podManagementPolicy !== "Parallel" ? 1 : Number(o["spec"]?.replicas ?? 1));
  const podsApi: ApiResource = client.resourceOf({ apiVersion: "v1", kind: "Pod" })!;
  const rsApi: ApiResource = client.resourceOf({ apiVersion: "apps/v1", kind: "ReplicaSet" })!;
  const evApi: ApiResource = client.resourceOf({ apiVersion: "v1", kind: "Event" })!;
  // The workloads' uids, once: owner references name them.
  const workloadUids = new Map<string, string>();
  for (const w of workloads) {
    const live = await client.get(w);
    if (ok(live)) workloadUids.set(live.body.metadata.uid, idOf(w));
  }
  const byId = new Map<string, LiveObject>(workloads.map((w) => [idOf(w), w]));
  let result: ControllerPods[] = [];
  const until = Date.now() + 90_000;
  for (;;) {
    const [pods, rss, events] = await Promise.all([podsApi, rsApi, evApi].map(async (r) => (await client.request("GET", client.collectionPath(r))).body?.items ?? []));
    // owner uid → workload id (a Deployment's pods belong to its ReplicaSets).
    const uidToId = new Map(workloadUids);
    for (const rs of rss) for (const ref of rs.metadata.ownerReferences ?? []) if (uidToId.has(ref.uid)) uidToId.set(rs.metadata.uid, uidToId.get(ref.uid)!);
    const count = new Map<string, number>();
    for (const p of pods) for (const ref of p.metadata.ownerReferences ?? []) if (uidToId.has(ref.uid)) count.set(uidToId.get(ref.uid)!, (count.get(uidToId.get(ref.uid)!) ?? 0) + 1);
    const failed = new Map<string, string>();
    for (const e of events) if (e.reason === "FailedCreate" && uidToId.has(e.involvedObject?.uid)) failed.set(uidToId.get(e.involvedObject.uid)!, String(e.message));
    result = [...byId.entries()].map(([id, w]) => ({ id, created: count.get(id) ?? 0, expected: expected(w), ...(failed.has(id) ? { failed: failed.get(id)! } : {}) }));
    if (result.every((r) => r.created >= r.expected || r.failed) || Date.now() > until) return result;
    await sleep(1000);
  }
}

/** Every object of the render's kinds that the server holds under the check's field manager, against the render. */
async function inventoryOf(client: ApiClient, objects: readonly LiveObject[]) {
  const want = new Map<string, number>();
  for (const o of objects) if (!(o.kind in DRY_RUN_ONLY)) want.set(idOf(o), (want.get(idOf(o)) ?? 0) + 1);
  const duplicates = [...want].filter(([, n]) => n > 1).map(([id]) => id).sort();
  // Each served resource the render uses, once, with the kind the render names it by.
  const kinds = new Map<string, { r: ApiResource; kind: string }>();
  for (const o of objects) {
    const r = client.resourceOf(o);
    if (r) kinds.set(`${r.group}/${r.resource}`, { r, kind: o.kind });
  }
  const have = new Set<string>();
  for (const { r, kind } of kinds.values()) {
    const list = await client.request("GET", client.collectionPath(r));
    for (const item of list.body?.items ?? []) {
      if (!(item.metadata?.managedFields ?? []).some((m: any) => m.manager === FIELD_MANAGER)) continue;
      if (item.metadata?.labels?.[MADE_FOR_CONTROLLER]) continue;
      have.add(idOf({ kind, metadata: item.metadata }));
    }
  }
  return {
    missing: [...want.keys()].filter((id) => !have.has(id)).sort(),
    extra: [...have].filter((id) => !want.has(id)).sort(),
    duplicates,
  };
}

/** Deletes in reverse install order, as `pulumi destroy` does, and reports what the server still holds after a while. */
async function deleteAll(client: ApiClient, objects: readonly LiveObject[]): Promise<string[]> {
  for (const o of [...objects].reverse()) await client.delete(o);
  // Namespaces and CRDs finish only after their contents are gone (namespace controller, CRD
  // finalizer). The CRD finalizer can wait minutes on a watch cache that re-initializes after the
  // deletions ("could not list instances: storage is (re)initializing", as on any 1.31+ cluster;
  // operator-framework/operator-controller#1437): while that is all that holds what is left, wait longer.
  const start = Date.now();
  const waiting = (l: string[]) => Date.now() - start < (l.length && l.every((x) => x.includes("storage is (re)initializing")) ? 480_000 : 180_000);
  let left: string[] = [];
  do {
    left = [];
    for (const o of objects) {
      const r = await client.get(o);
      if (!ok(r)) continue;
      // What holds it: its finalizers and the condition its controller reports (a namespace's or CRD's cleanup).
      const md = r.body?.metadata ?? {};
      const why = [
        md.deletionTimestamp ? `deleting, finalizers ${JSON.stringify(md.finalizers ?? r.body?.spec?.finalizers ?? [])}` : "not deleted",
        ...(r.body?.status?.conditions ?? []).filter((c: any) => /Terminating|Deletion|Content/.test(String(c.type)) && c.status === "True").map((c: any) => `${c.type}: ${c.message ?? c.reason}`),
      ];
      left.push(`${idOf(o)} (${why.join("; ")})`);
    }
    if (!left.length) return [];
    await sleep(1000);
  } while (waiting(left));
  return left.sort();
}
