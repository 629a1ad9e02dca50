/** What the two config/discovery stores (etcd, Consul) take from the Platform. */
import type { SecretSinks } from "../shared/secret-sink";
import * as pulumi from "@pulumi/pulumi";

/** A service that declared `configStore: true`. */
export interface StoreClient {
  readonly service: string;
  /** The service's namespace (pass the Namespace's output so its credentials Secret waits for it). */
  readonly namespace: pulumi.Input<string>;
  /** The same namespace by name (the store path of its credentials, with the platform's secrets in the store). */
  readonly namespaceName: string;
}

/** Inputs common to both stores. */
export interface StoreArgs<Settings> {
  /** Namespace the store runs in (created by the store, Pod Security restricted). */
  readonly namespace: string;
  /** Extra labels on that namespace (the mesh's ambient enrollment). */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** The store's settings from `platform:discovery.<store>`, parsed and defaulted. */
  readonly settings: Settings;
  /** Cluster DNS domain. */
  readonly domain: string;
  /** Kubernetes cluster name (etcd cluster token, Consul datacenter). */
  readonly clusterName: string;
  /** Spread members across zones as well as nodes. */
  readonly zones: boolean;
  /** StorageClass for volumes; absent: the cluster default. */
  readonly storageClass?: string;
  /** Services that get credentials and the endpoint. */
  readonly clients: readonly StoreClient[];
  /** Where its generated Secrets go (default: Kubernetes Secrets; the store's sink with secrets.platformSecrets). */
  readonly secretSinks?: SecretSinks;
}
