/**
 * Where a component's generated secrets go. An area (etcd, Kafka, NATS, the gateway, Grafana...)
 * generates credentials and certificates and hands each Secret to a sink instead of creating it:
 * - `kubernetesSecrets` (the default, and the store off) creates the Secret itself;
 * - the store's sink (components/secrets/platform-secrets.ts, `secrets.platformSecrets`) writes the
 *   values to the store and creates an ExternalSecret that makes the same Secret in the cluster,
 *   so no Secret and no value is in the render.
 * Either way the consumers name the same Secret and wait for the returned resource.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * Marks the Secrets that must exist before the store can serve (the mesh CA, the store's own TLS):
 * they stay Kubernetes Secrets created by `pulumi up`, and the render lists them under the store's
 * bootstrap instead of as something left out.
 */
export const BOOTSTRAP_ANNOTATION = "platform.io/store-bootstrap";

/** One Secret a component generates. */
export interface GeneratedSecret {
  /** The Secret's name. */
  readonly name: string;
  /** Its namespace, as plain text: the store path and the read policy are derived from it. */
  readonly namespace: string;
  /** The same namespace as the Namespace's output, when the component has it: the Secret waits for it. */
  readonly namespaceRef?: pulumi.Input<string>;
  readonly labels?: Readonly<Record<string, string>>;
  /** The Secret's type (default Opaque). */
  readonly type?: string;
  /** Key → value (the values are secrets: generated keys, passwords, tokens). */
  readonly data: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** What consumers wait for: the Secret, or the ExternalSecret that makes it (awaited Ready). */
export type SecretResource = pulumi.CustomResource & { readonly metadata: pulumi.Output<{ readonly name: string }> };

/** A component's sink: `opts` carries the component as parent and what the Secret waits for (its namespace). */
export interface SecretSink {
  secret(resourceName: string, secret: GeneratedSecret, opts: pulumi.CustomResourceOptions): SecretResource;
}

/** Makes a component's sink: `component` is its Pulumi name (the store's per-component reader is named after it). */
export type SecretSinks = (owner: pulumi.ComponentResource, component: string) => SecretSink;

/** The default: each generated Secret is a Kubernetes Secret created by `pulumi up`. */
export const kubernetesSecrets: SecretSinks = () => ({
  secret: (resourceName, s, opts) =>
    new k8s.core.v1.Secret(
      resourceName,
      { metadata: { name: s.name, namespace: s.namespaceRef ?? s.namespace, ...(s.labels ? { labels: { ...s.labels } } : {}) }, type: s.type ?? "Opaque", stringData: s.data },
      opts,
    ),
});
