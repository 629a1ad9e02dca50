/**
 * The platform's own generated secrets through the store (`secrets.platformSecrets`): each Secret an
 * area generates (certificates and CA chains, etcd/Kafka/NATS/Consul credentials, Grafana's admin,
 * the gateway's certificate) is written by `pulumi up` to the store at
 * `platform/<namespace>/<Secret name>` (with the writer token from the store's bootstrap), and an
 * ExternalSecret of the same name makes the Secret in the cluster. The same objects serve
 * `pulumi up` and GitOps: the render holds no Secret and no value.
 *
 * Who reads what: per component and namespace, a ServiceAccount and a SecretStore
 * `platform-secrets-<component>` that logs in with the role `pf-<namespace>_<component>`, whose policy
 * grants `read` on exactly the paths of that component's Secrets in that namespace. The
 * configurator Job writes those policies and roles (platformStoreAccess lists them once every
 * component has registered its Secrets).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import { customResource, dependsOnList, K8sObject } from "../core/objects";
import { PLATFORM_LABELS } from "../shared/labels";
import type { GeneratedSecret, SecretResource, SecretSinks } from "../shared/secret-sink";
import { EXTERNAL_SECRETS_API, secretStoreWithCa, vaultStoreSpec } from "./external-secrets";
import { KV_MOUNT, PLATFORM_ACCESS_PREFIX, platformSecretPathOf } from "./store-access";

/** The ServiceAccount and SecretStore of a component's reader: `platform-secrets-<component>` (a prefix no workload of the platform's uses). */
export const PLATFORM_READER_PREFIX = "platform-secrets-";

/** One component's readers in one namespace: its ServiceAccount, SecretStore, policy and role. */
export interface PlatformStoreAccess {
  readonly component: string;
  readonly namespace: string;
  /** Policy and role: `pf-<namespace>_<component>`. */
  readonly name: string;
  /** ServiceAccount and SecretStore: `platform-secrets-<component>`. */
  readonly serviceAccount: string;
  /** The Secrets it makes there, sorted. */
  readonly secrets: readonly string[];
  /** KV v2 data paths (`secret/data/platform/<namespace>/<Secret>`) its policy grants `read` on, sorted. */
  readonly readPaths: readonly string[];
}

/** The reader of a component's Secrets in a namespace (pure: the tests and the report derive the same). */
export function platformStoreAccessOf(component: string, namespace: string, secrets: readonly string[]): PlatformStoreAccess {
  const sorted = [...new Set(secrets)].sort();
  return {
    component,
    namespace,
    // `_` appears in neither a namespace nor a component's name: no two readers share a role.
    name: `${PLATFORM_ACCESS_PREFIX}${namespace}_${component}`,
    serviceAccount: `${PLATFORM_READER_PREFIX}${component}`,
    secrets: sorted,
    readPaths: sorted.map((s) => `${KV_MOUNT}/data/${platformSecretPathOf(namespace, s)}`),
  };
}

/** The SecretStore of a component in a namespace: Kubernetes auth with its own ServiceAccount. */
export function platformSecretStoreObject(a: PlatformStoreAccess, store: { readonly url: string; readonly caBundle: string }): K8sObject {
  return {
    apiVersion: EXTERNAL_SECRETS_API,
    kind: "SecretStore",
    metadata: { name: a.serviceAccount, namespace: a.namespace, labels: { ...PLATFORM_LABELS, "app.kubernetes.io/component": "platform-secrets" } },
    spec: vaultStoreSpec({ url: store.url, caBundle: store.caBundle, role: a.name, serviceAccount: a.serviceAccount }),
  };
}

/**
 * The ExternalSecret that makes a generated Secret: every field of its store path, under the same
 * keys, with the Secret's type and labels. `pulumi up` waits for it to be Ready (the Secret exists)
 * before anything that depends on it.
 */
export function platformExternalSecretObject(s: Pick<GeneratedSecret, "name" | "namespace" | "labels" | "type">, storeName: string, refreshInterval: string): K8sObject {
  return {
    apiVersion: EXTERNAL_SECRETS_API,
    kind: "ExternalSecret",
    metadata: { name: s.name, namespace: s.namespace, labels: { ...(s.labels ?? PLATFORM_LABELS) }, annotations: { "pulumi.com/waitFor": "condition=Ready" } },
    spec: {
      refreshInterval,
      secretStoreRef: { kind: "SecretStore", name: storeName },
      target: {
        name: s.name,
        // Owner: the Secret goes with the ExternalSecret. Retain: a store outage never empties it.
        creationPolicy: "Owner",
        deletionPolicy: "Retain",
        // The Secret is what `pulumi up` would have created: the same type and labels.
        template: { type: s.type ?? "Opaque", metadata: { labels: { ...(s.labels ?? {}) } } },
      },
      dataFrom: [{ extract: { key: platformSecretPathOf(s.namespace, s.name) } }],
    },
  };
}

/** Metadata with the namespace as an output (the object waits for its Namespace), for registration only. */
const inNamespace = (m: K8sObject["metadata"], namespaceRef: pulumi.Input<string>): K8sObject["metadata"] => ({ ...m, namespace: namespaceRef as unknown as string });

/** Inputs of the store's sink. */
export interface StoreSecretsArgs {
  /** The store's in-cluster URL and CA (PEM, public). */
  readonly storeUrl: string;
  readonly caCertPem: pulumi.Input<string>;
  /** How `pulumi up` reaches the store (secrets.platformSecrets.address); the token is VAULT_TOKEN. */
  readonly writerAddress: string;
  readonly refreshInterval: string;
  /** The store's release: the writes wait for its servers. */
  readonly store: pulumi.Input<pulumi.Resource>;
  /** External Secrets' release: SecretStore and ExternalSecret are its CRDs, checked by its webhook. */
  readonly operator: pulumi.Input<pulumi.Resource>;
}

/**
 * The sink that sends the platform's generated Secrets through the store. One per stack; each
 * component gets its own reader (`sinks`), and `access()` lists them all once every component has
 * registered its Secrets (the configurator's input).
 */
export class StoreSecrets {
  private readonly provider: vault.Provider;
  private readonly readers = new Map<string, { owner: pulumi.ComponentResource; component: string; namespace: string; secrets: string[]; store: pulumi.CustomResource; storeName: string }>();
  private readonly caBundle: pulumi.Output<string>;

  /** `parent`: the store's component (the writer's provider belongs to its install stage). */
  constructor(parent: pulumi.ComponentResource, private readonly args: StoreSecretsArgs) {
    // The writer's token is the environment's VAULT_TOKEN (the provider's own convention) and the
    // store's CA is VAULT_CACERT: neither is ever in the program or its config.
    this.provider = new vault.Provider("store-writer", { address: args.writerAddress, skipChildToken: true }, { parent });
    this.caBundle = pulumi.output(args.caCertPem).apply((pem) => Buffer.from(pem).toString("base64"));
  }

  /** The per-component sink factory (components take it as `secretSinks`). */
  public readonly sinks: SecretSinks = (owner, component) => ({ secret: (resourceName, s, opts) => this.secret(owner, component, resourceName, s, opts) });

  /** Every component's reader, sorted by namespace then component. */
  public access(): PlatformStoreAccess[] {
    return [...this.readers.values()].map((r) => platformStoreAccessOf(r.component, r.namespace, r.secrets)).sort((a, b) => a.name.localeCompare(b.name));
  }

  private reader(owner: pulumi.ComponentResource, component: string, namespace: string, namespaceRef: pulumi.Input<string>, opts: pulumi.CustomResourceOptions) {
    const key = `${namespace}/${component}`;
    const known = this.readers.get(key);
    if (known) {
      if (known.owner !== owner) throw new Error(`platform secrets: two components named ${component} write Secrets in namespace ${namespace}`);
      return known;
    }
    const access = platformStoreAccessOf(component, namespace, []);
    const waits = dependsOnList(opts);
    const sa = new k8s.core.v1.ServiceAccount(
      `${component}-${namespace}-platform-secrets`,
      { metadata: { name: access.serviceAccount, namespace: namespaceRef, labels: { ...PLATFORM_LABELS, "app.kubernetes.io/component": "platform-secrets" } }, automountServiceAccountToken: false },
      { parent: owner, dependsOn: waits },
    );
    const obj = platformSecretStoreObject(access, { url: this.args.storeUrl, caBundle: "" });
    const store = customResource(`${component}-${namespace}-platform-store`, secretStoreWithCa({ ...obj, metadata: inNamespace(obj.metadata, namespaceRef) }, this.caBundle), { parent: owner, dependsOn: [...waits, sa, this.args.operator] });
    const reader = { owner, component, namespace, secrets: [] as string[], store, storeName: access.serviceAccount };
    this.readers.set(key, reader);
    return reader;
  }

  private secret(owner: pulumi.ComponentResource, component: string, resourceName: string, s: GeneratedSecret, opts: pulumi.CustomResourceOptions): SecretResource {
    const reader = this.reader(owner, component, s.namespace, s.namespaceRef ?? s.namespace, opts);
    if (reader.secrets.includes(s.name)) throw new Error(`platform secrets: Secret ${s.namespace}/${s.name} generated twice`);
    reader.secrets.push(s.name);
    const write = new vault.kv.SecretV2(
      `${resourceName}-store`,
      {
        mount: KV_MOUNT,
        name: platformSecretPathOf(s.namespace, s.name),
        dataJson: pulumi.secret(pulumi.output(s.data).apply((d) => JSON.stringify(Object.fromEntries(Object.entries(d).sort(([a], [b]) => a.localeCompare(b)))))),
        // Removed from the program: every version goes, not only the latest.
        deleteAllVersions: true,
      },
      { parent: owner, provider: this.provider, dependsOn: [this.args.store] },
    );
    const external = platformExternalSecretObject(s, reader.storeName, this.args.refreshInterval);
    return customResource(resourceName, { ...external, metadata: inNamespace(external.metadata, s.namespaceRef ?? s.namespace) }, { ...opts, dependsOn: [...dependsOnList(opts), reader.store, write] }) as unknown as SecretResource;
  }
}
