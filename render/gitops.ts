/**
 * Turns recorded registrations into GitOps objects. Pure functions, no I/O.
 *
 * Flux, not Argo CD: a Pulumi `helm.v3.Release` maps one-to-one onto a Flux HelmRelease (chart,
 * version, values, install/upgrade CRD policy, `dependsOn` between releases), and plain manifests
 * map onto Flux Kustomizations whose `dependsOn` carries the install order between components.
 * Argo CD would need sync waves inside one Application or an app-of-apps, and has no equivalent of
 * a HelmRelease's CRD lifecycle settings.
 */
import { flux } from "../versions";
import { isSecretMarker, RecordedResource } from "./harness";

export const FLUX_NAMESPACE = "flux-system";
import { isHelmChart } from "../policy/k8s";
export { HELM_RELEASE_TYPE, HELM_V3_RELEASE_TYPE, isHelmChart } from "../policy/k8s";

/** A Kubernetes object ready to be written as YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
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
    return {
      secret: {
        kind: "Secret",
        namespace: inputs.metadata?.namespace ?? "default",
        name,
        keys,
        howToSupply: "Created by `pulumi up` from generated values; for GitOps, supply it with SOPS or External Secrets under this name.",
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

/** A Flux Kustomization applying one component's directory after the components it depends on. */
export function fluxKustomization(group: string, path: string, dependsOn: readonly string[]): K8sObject {
  return {
    apiVersion: flux.kustomization,
    kind: "Kustomization",
    metadata: { name: `platform-${group}`, namespace: FLUX_NAMESPACE },
    spec: {
      interval: "10m",
      path,
      prune: true,
      wait: true,
      timeout: "10m",
      sourceRef: { kind: "GitRepository", name: "platform" },
      ...(dependsOn.length ? { dependsOn: dependsOn.map((d) => ({ name: `platform-${d}` })) } : {}),
    },
  };
}
