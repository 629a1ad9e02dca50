/**
 * A Secret the platform generates, as the cluster gets it, whichever way it goes: the Secret the
 * program registers, or (secrets.platformSecrets) the one External Secrets makes from the store,
 * with the values `pulumi up` wrote there and the ExternalSecret's type and labels. Tests of an
 * area's certificates and credentials read it here so they hold in both modes.
 */
import { isSecretMarker, RecordedResource, SECRET_SIG, SECRET_SIG_KEY } from "../../render/harness";

type Inputs = Record<string, any>;
export interface GeneratedSecretView {
  /** The registration that makes it: the Secret, or the ExternalSecret. */
  readonly urn: string;
  /** As a Secret: metadata, type, and stringData (a Pulumi secret, as the program hands it over). */
  readonly inputs: Inputs;
}

const plain = (v: unknown): any => (isSecretMarker(v) ? plain(v.value) : v);

export function generatedSecret(resources: readonly RecordedResource[], namespace: string, name: string): GeneratedSecretView | undefined {
  const own = resources.find((x) => x.type === "kubernetes:core/v1:Secret" && (x.inputs as Inputs).metadata?.name === name && (x.inputs as Inputs).metadata?.namespace === namespace);
  if (own) return { urn: own.urn, inputs: own.inputs as Inputs };
  const es = resources.find((x) => x.type.endsWith(":ExternalSecret") && (x.inputs as Inputs).spec?.target?.name === name && (x.inputs as Inputs).metadata?.namespace === namespace);
  if (!es) return undefined;
  const spec = (es.inputs as Inputs).spec;
  const key = spec.dataFrom?.[0]?.extract?.key;
  const write = resources.find((x) => x.type === "vault:kv/secretV2:SecretV2" && (x.inputs as Inputs).name === key);
  if (!write) return undefined;
  const dataJson = (write.inputs as Inputs).dataJson;
  return {
    urn: es.urn,
    inputs: {
      metadata: { name, namespace, labels: spec.target.template?.metadata?.labels ?? {} },
      type: spec.target.template?.type ?? "Opaque",
      // Secret when the write was (as the program marks every generated value).
      stringData: isSecretMarker(dataJson) ? { [SECRET_SIG_KEY]: SECRET_SIG, value: JSON.parse(plain(dataJson)) } : JSON.parse(dataJson),
    },
  };
}

/**
 * The Secrets the render left out (report.md "Secrets") and those External Secrets makes from the
 * store, by namespace, name and keys: every Secret of the platform's the cluster gets, but a chart's.
 */
export function platformSecretRefs(r: { readonly run: { readonly resources: readonly RecordedResource[] }; readonly model: { readonly secrets: readonly { namespace: string; name: string; keys: readonly string[] }[] } }): { namespace: string; name: string; keys: readonly string[] }[] {
  const made = r.run.resources
    .filter((x) => x.type.endsWith(":ExternalSecret") && String((x.inputs as Inputs).spec?.secretStoreRef?.name ?? "").startsWith("platform-"))
    .map((x) => generatedSecret(r.run.resources, (x.inputs as Inputs).metadata.namespace, (x.inputs as Inputs).spec.target.name)!)
    .map((s) => ({ namespace: s.inputs.metadata.namespace as string, name: s.inputs.metadata.name as string, keys: Object.keys(plain(s.inputs.stringData)) }));
  return [...r.model.secrets, ...made];
}
