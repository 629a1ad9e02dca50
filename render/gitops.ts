/**
 * Turns recorded registrations into GitOps objects. Pure functions, no I/O.
 *
 * Flux or Argo CD, per render (GitOpsOptions): the components' manifests are the same; Flux gets a
 * Kustomization per component whose `dependsOn` carries the install order, Argo CD an Application
 * per component whose sync wave is its level in that order, under a root Application. Charts kept
 * whole (`--charts helmrelease`) are Flux HelmReleases: a Pulumi `helm.v3.Release` maps one-to-one
 * onto one (chart, version, values, CRD policy), which Argo CD has no equivalent of.
 */
import { flux } from "../versions";
import { BOOTSTRAP_ANNOTATION } from "../components/shared/secret-sink";
import { isSecretMarker, RecordedResource } from "./harness";

export const FLUX_NAMESPACE = "flux-system";
import { isHelmChart } from "../policy/k8s";
export { HELM_RELEASE_TYPE, HELM_V3_RELEASE_TYPE, isHelmChart } from "../policy/k8s";

/** A Kubernetes object ready to be written as YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[] };
  [field: string]: unknown;
}

/** A secret the render left out, with where it belongs. */
export interface SecretReference {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Keys (or values paths) whose content is secret. */
  readonly keys: readonly string[];
  /** What to do to supply it outside Pulumi. */
  readonly howToSupply: string;
  /** The component whose objects it belongs with (render/model.ts Group name). */
  readonly component?: string;
  /** One of the Secrets the store's bootstrap makes (BOOTSTRAP_ANNOTATION), not one left to a person by accident. */
  readonly bootstrap?: boolean;
}

/** Whether a registration is a plain Kubernetes object the render writes as YAML. */
export function isKubernetesObject(r: RecordedResource): boolean {
  return r.custom && r.type.startsWith("kubernetes:") && !isHelmChart(r.type) && !r.type.startsWith("kubernetes:yaml/");
}

/** Paths below `value` that hold Pulumi secrets ("" is the value itself). */
export function secretPaths(value: unknown, at = ""): string[] {
  if (isSecretMarker(value)) return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => secretPaths(v, `${at}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => secretPaths(v, at ? `${at}.${k}` : k));
  }
  return [];
}

/**
 * The YAML-ready object of a Kubernetes registration. Secret objects have their data removed and
 * are returned as a reference instead; a secret anywhere else is an error, because writing it
 * would leak it into Git.
 */
export function toManifest(r: RecordedResource): { object?: K8sObject; secret?: SecretReference } {
  const inputs = r.inputs as Record<string, unknown> & { metadata?: K8sObject["metadata"] };
  const apiVersion = String(inputs["apiVersion"]);
  const kind = String(inputs["kind"]);
  const name = inputs.metadata?.name;
  if (!name) throw new Error(`${r.urn}: no metadata.name; every platform object is named explicitly`);
  if (kind === "Secret") {
    const keys = ["data", "stringData"].flatMap((f) => {
      const v = inputs[f];
      const plain = isSecretMarker(v) ? v.value : v;
      return plain && typeof plain === "object" ? Object.keys(plain as object) : [];
    });
    // A Secret a chart ships empty for its controller to fill (External Secrets' webhook
    // certificate: the controller may update it, not create it) holds no value: written as is.
    if (keys.length === 0) {
      const { apiVersion: _a, kind: _k, data: _d, stringData: _s, ...rest } = inputs;
      return { object: { apiVersion, kind, ...(rest as { metadata: K8sObject["metadata"] }) } };
    }
    const bootstrap = inputs.metadata?.annotations?.[BOOTSTRAP_ANNOTATION] !== undefined;
    return {
      secret: {
        kind: "Secret",
        namespace: inputs.metadata?.namespace ?? "default",
        name,
        keys,
        ...(bootstrap ? { bootstrap: true } : {}),
        howToSupply: bootstrap
          ? "Part of the store's bootstrap (it is needed before the store can serve): created by `pulumi up`; for GitOps, by the same `pulumi up` that writes the platform's secrets to the store (docs/secrets.md, \"GitOps\"; Flux holds back what depends on it until it exists)."
          : "Created by `pulumi up` from generated values; for GitOps, supply it with SOPS or External Secrets under this name (Flux holds back what depends on it until it exists).",
      },
    };
  }
  const leaked = secretPaths(inputs);
  if (leaked.length > 0) throw new Error(`${r.urn}: secret value at ${leaked.join(", ")} in a ${kind}; reference a Secret instead`);
  const { apiVersion: _a, kind: _k, ...rest } = inputs;
  return { object: { apiVersion, kind, ...(rest as { metadata: K8sObject["metadata"] }) } };
}

interface ReleaseInputs {
  name?: string;
  chart: string;
  version?: string;
  namespace?: string;
  repositoryOpts?: { repo?: string };
  values?: unknown;
  skipCrds?: boolean;
  createNamespace?: boolean;
  timeout?: number;
}

/**
 * A Pulumi Helm Release as Flux objects: a source (HelmRepository, or OCIRepository for oci://
 * repositories) and a HelmRelease with the same chart, version and values. `dependsOn` names the
 * releases it must follow. Secret values move to a Secret referenced by `valuesFrom`.
 */
export function helmReleaseToFlux(r: RecordedResource, dependsOn: readonly string[]): { objects: K8sObject[]; secret?: SecretReference } {
  const inp = r.inputs as unknown as ReleaseInputs;
  const releaseName = inp.name ?? r.name;
  const repo = inp.repositoryOpts?.repo;
  if (!repo) throw new Error(`${r.urn}: Helm release without repositoryOpts.repo cannot be expressed as a Flux source`);
  if (!inp.version) throw new Error(`${r.urn}: Helm release without a pinned version`);
  const sourceName = `${releaseName}-${inp.chart}`.slice(0, 63).replace(/-+$/, "");
  const oci = repo.startsWith("oci://");
  const source: K8sObject = oci
    ? {
        apiVersion: flux.ociRepository,
        kind: "OCIRepository",
        metadata: { name: sourceName, namespace: FLUX_NAMESPACE },
        spec: { interval: "1h", url: `${repo.replace(/\/+$/, "")}/${inp.chart}`, ref: { tag: inp.version }, layerSelector: { mediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", operation: "copy" } },
      }
    : {
        apiVersion: flux.helmRepository,
        kind: "HelmRepository",
        metadata: { name: sourceName, namespace: FLUX_NAMESPACE },
        spec: { interval: "1h", url: repo },
      };

  let values: unknown = inp.values ?? {};
  let secret: SecretReference | undefined;
  const secretAt = secretPaths(values);
  if (secretAt.length > 0) {
    secret = {
      kind: "Secret",
      namespace: FLUX_NAMESPACE,
      name: `${releaseName}-values`,
      keys: secretAt.map((p) => (p === "" ? "values.yaml" : p)),
      howToSupply: `Put the secret values (${secretAt.join(", ")}) under key values.yaml of this Secret (SOPS or External Secrets); the HelmRelease merges it over its values.`,
    };
    values = stripSecrets(values);
  }
  const crds = inp.skipCrds ? "Skip" : "CreateReplace";
  const release: K8sObject = {
    apiVersion: flux.helmRelease,
    kind: "HelmRelease",
    metadata: { name: releaseName, namespace: FLUX_NAMESPACE },
    spec: {
      interval: "30m",
      releaseName,
      targetNamespace: inp.namespace ?? "default",
      ...(oci
        ? { chartRef: { kind: "OCIRepository", name: sourceName, namespace: FLUX_NAMESPACE } }
        : { chart: { spec: { chart: inp.chart, version: inp.version, sourceRef: { kind: "HelmRepository", name: sourceName, namespace: FLUX_NAMESPACE } } } }),
      install: { createNamespace: inp.createNamespace ?? false, crds, remediation: { retries: 3 } },
      upgrade: { crds, remediation: { retries: 3 } },
      ...(dependsOn.length ? { dependsOn: dependsOn.map((name) => ({ name, namespace: FLUX_NAMESPACE })) } : {}),
      ...(values && typeof values === "object" && Object.keys(values).length ? { values } : {}),
      ...(secret ? { valuesFrom: [{ kind: "Secret", name: secret.name, valuesKey: "values.yaml" }] } : {}),
    },
  };
  return { objects: [source, release], ...(secret ? { secret } : {}) };
}

function stripSecrets(v: unknown): unknown {
  if (isSecretMarker(v)) return undefined;
  if (Array.isArray(v)) return v.map(stripSecrets).filter((x) => x !== undefined);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const s = stripSecrets(x);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
  return v;
}

/** An object Flux health-checks by reference. */
export interface HealthCheckRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/**
 * A Flux Kustomization applying one component's directory after the components it depends on.
 * Without `healthChecks`, `wait`: Flux health-checks every object it applied (rollouts, Jobs, CRDs
 * established) before the Kustomizations that depend on this one start. With them (the objects it
 * applies plus the Secrets the render leaves out, see gitopsFiles), the component is not Ready
 * until those Secrets exist too, so nothing that depends on it starts without them (istiod without
 * its CA, a workload without its credentials): Flux ignores healthChecks when `wait` is on.
 */
export function fluxKustomization(group: string, path: string, dependsOn: readonly string[], source = DEFAULT_GITOPS.source, healthChecks?: readonly HealthCheckRef[]): K8sObject {
  return {
    apiVersion: flux.kustomization,
    kind: "Kustomization",
    metadata: { name: `platform-${group}`, namespace: FLUX_NAMESPACE },
    spec: {
      interval: "10m",
      path,
      prune: true,
      ...(healthChecks ? { wait: false, healthChecks: healthChecks.map((h) => ({ ...h })) } : { wait: true }),
      timeout: "10m",
      sourceRef: { kind: "GitRepository", name: source },
      ...(dependsOn.length ? { dependsOn: dependsOn.map((d) => ({ name: `platform-${d}` })) } : {}),
    },
  };
}

/** The health checks of a component that has Secrets supplied out of band: its own objects and those Secrets. */
export function healthChecksOf(g: GitOpsGroup, secrets: readonly SecretReference[]): HealthCheckRef[] | undefined {
  const mine = secrets.filter((s) => s.component === g.name);
  if (!mine.length) return undefined;
  const ref = (o: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): HealthCheckRef => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) });
  return [...g.objects.map(ref), ...mine.map((s) => ({ apiVersion: "v1", kind: "Secret", name: s.name, namespace: s.namespace }))];
}

/** Where the render's GitOps objects point, and for which engine. */
export interface GitOpsOptions {
  /** Flux (Kustomizations with dependsOn) or Argo CD (Applications with sync waves). */
  readonly engine: "flux" | "argocd";
  /**
   * The render's output folder as a path inside the Git repository (e.g. `clusters/prod`), so
   * several stacks share one repository, each in its own folder. `.`: the repository's root.
   */
  readonly path: string;
  /** Flux: the GitRepository's name (in flux-system). Argo CD: the repository URL. */
  readonly source: string;
  /** Argo CD: the revision to sync (branch, tag or commit). */
  readonly revision: string;
  /** Argo CD: names are `<prefix>-<component>`, so stacks sharing one Argo CD do not collide. */
  readonly namePrefix: string;
}

export const DEFAULT_GITOPS: GitOpsOptions = { engine: "flux", path: ".", source: "platform", revision: "HEAD", namePrefix: "platform" };

export const ARGOCD_NAMESPACE = "argocd";
const ARGOCD_API = "argoproj.io/v1alpha1";

/** A repository-relative folder below the render's path (`./clusters/prod/manifests/x` for Flux, no `./` for Argo CD). */
function repoPath(opts: GitOpsOptions, rel: string, dotSlash: boolean): string {
  const parts = [opts.path, rel].map((p) => p.replace(/^\.\/?/, "").replace(/\/+$/, "")).filter(Boolean);
  const joined = parts.join("/");
  return dotSlash ? `./${joined}` : joined;
}

/**
 * The checks on GitOps options, one line each naming the option, before anything is written: a
 * path that leaves the repository, a Flux source that is not a Kubernetes name, an Argo CD source
 * that is not a repository URL.
 */
export function gitopsProblems(o: GitOpsOptions): string[] {
  const out: string[] = [];
  if (o.path.startsWith("/") || o.path.split("/").includes("..")) out.push(`--gitops-path: must be a path inside the repository, relative to its root (got ${JSON.stringify(o.path)}; expected e.g. clusters/prod)`);
  if (o.engine === "flux" && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(o.source)) out.push(`--gitops-source: the Flux GitRepository's name must be a DNS label (got ${JSON.stringify(o.source)}; expected e.g. platform)`);
  if (o.engine === "argocd" && !/^(https:\/\/|ssh:\/\/|git@)\S+$/.test(o.source)) out.push(`--gitops-source: Argo CD needs the repository URL (got ${JSON.stringify(o.source)}; expected https://…, ssh://… or git@…)`);
  if (!/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/.test(o.namePrefix)) out.push(`--gitops-name-prefix: must be a DNS label of at most 32 characters (got ${JSON.stringify(o.namePrefix)})`);
  return out;
}

/** The component groups the GitOps objects are made from (render/model.ts Group). */
interface GitOpsGroup {
  readonly name: string;
  readonly dir: string;
  readonly dependsOn: readonly string[];
  readonly objects: readonly K8sObject[];
}

/**
 * The GitOps tree: files below the output folder and their objects. Flux: one Kustomization per
 * component with `dependsOn` from the install order, health-checking the Secrets it leaves out. Argo CD: one Application per component with
 * its sync wave (its level in the same order), and a root Application (app of apps) over them.
 */
export function gitopsFiles(groups: readonly GitOpsGroup[], levels: readonly (readonly string[])[], o: GitOpsOptions, secrets: readonly SecretReference[] = []): { path: string; objects: K8sObject[] }[] {
  if (o.engine === "flux") {
    return [{ path: "flux/kustomizations.yaml", objects: groups.map((g) => fluxKustomization(g.name, repoPath(o, `manifests/${g.dir}`, true), g.dependsOn, o.source, healthChecksOf(g, secrets))) }];
  }
  const wave = new Map(levels.flatMap((names, i) => names.map((n) => [n, i] as const)));
  const apps = groups.map(
    (g): K8sObject => ({
      apiVersion: ARGOCD_API,
      kind: "Application",
      metadata: {
        name: `${o.namePrefix}-${g.name}`.slice(0, 63).replace(/-+$/, ""),
        namespace: ARGOCD_NAMESPACE,
        // The install order: Argo CD syncs wave n once every Application of the waves before is healthy.
        annotations: { "argocd.argoproj.io/sync-wave": String(wave.get(g.name) ?? 0) },
        finalizers: ["resources-finalizer.argocd.argoproj.io"],
      },
      spec: {
        project: "default",
        source: { repoURL: o.source, targetRevision: o.revision, path: repoPath(o, `manifests/${g.dir}`, false) },
        destination: { server: "https://kubernetes.default.svc" },
        syncPolicy: {
          automated: { prune: true, selfHeal: true },
          // Server-side apply: CRDs and large ConfigMaps exceed client-side apply's annotation limit.
          syncOptions: ["ServerSideApply=true", "PruneLast=true"],
          retry: { limit: 5, backoff: { duration: "10s", factor: 2, maxDuration: "5m" } },
        },
      },
    }),
  );
  const root: K8sObject = {
    apiVersion: ARGOCD_API,
    kind: "Application",
    metadata: { name: o.namePrefix, namespace: ARGOCD_NAMESPACE, finalizers: ["resources-finalizer.argocd.argoproj.io"] },
    spec: {
      project: "default",
      source: { repoURL: o.source, targetRevision: o.revision, path: repoPath(o, "argocd/applications", false) },
      destination: { server: "https://kubernetes.default.svc", namespace: ARGOCD_NAMESPACE },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
    },
  };
  return [
    { path: "argocd/applications/applications.yaml", objects: apps },
    { path: "argocd/root.yaml", objects: [root] },
  ];
}
