/**
 * The External Secrets Operator (chart pinned in versions/index.ts): it reads each service's
 * secrets from the store with that service's own identity (a SecretStore per service, Kubernetes
 * auth with the service's ServiceAccount, components/secrets/service-secrets.ts) and keeps a
 * Kubernetes Secret in sync. Only namespaced stores: a ClusterSecretStore would let any namespace
 * borrow one identity, so the cluster-wide reconcilers are off.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { charts } from "../../versions";
import { chartRelease, childOptions, K8sObject } from "../core/objects";
import { platformNamespace } from "../shared/pod-security";
import { K8S_AUTH_MOUNT, KV_MOUNT, STORE_AUDIENCE } from "./store-access";

/** The release name; the controller's ServiceAccount (its mesh identity) is named after it. */
export const EXTERNAL_SECRETS_NAME = "external-secrets";
export const EXTERNAL_SECRETS_API = "external-secrets.io/v1";

/**
 * A SecretStore object (built as plain data, with an empty CA) with the store's CA bundle put in:
 * the CA is an output of the store's PKI, the one field that is not plain data.
 */
export function secretStoreWithCa(store: K8sObject, caBundle: pulumi.Input<string>): K8sObject {
  const vault = (store["spec"] as { provider: { vault: Record<string, unknown> } }).provider.vault;
  return { ...store, spec: { provider: { vault: { ...vault, caBundle } } } };
}

/**
 * A SecretStore's spec for the platform's store: KV v2 at `secret`, TLS verified with the store's
 * CA, Kubernetes auth as `serviceAccount` (a token for the store's audience only) with `role`.
 */
export function vaultStoreSpec(a: { readonly url: string; readonly caBundle: string; readonly role: string; readonly serviceAccount: string }): Record<string, unknown> {
  return {
    provider: {
      vault: {
        server: a.url,
        path: KV_MOUNT,
        version: "v2",
        caBundle: a.caBundle,
        auth: { kubernetes: { mountPath: K8S_AUTH_MOUNT, role: a.role, serviceAccountRef: { name: a.serviceAccount, audiences: [STORE_AUDIENCE] } } },
      },
    },
  };
}

const RESTRICTED = { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };

/**
 * Values of the chart. Pure, so the values-key tests can check them. The namespace stays out of
 * the mesh, because the API server calls the webhook in plain TLS; the controller alone is enrolled
 * (its pod label), since it calls the store, a STRICT mTLS workload.
 */
export function externalSecretsValues(a: { readonly ha: boolean; readonly monitoring: boolean; readonly namespace: string }): Record<string, unknown> {
  const pod = { enabled: true, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
  const container = { enabled: true, runAsUser: 1000, ...RESTRICTED };
  const resources = { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } };
  return {
    installCRDs: true,
    crds: { createClusterExternalSecret: false, createClusterSecretStore: false, createClusterGenerator: false, createClusterPushSecret: false, createPushSecret: false },
    processClusterExternalSecret: false,
    processClusterStore: false,
    processPushSecret: false,
    replicaCount: a.ha ? 2 : 1,
    leaderElect: a.ha,
    podDisruptionBudget: a.ha ? { enabled: true, minAvailable: 1 } : { enabled: false },
    podLabels: { "istio.io/dataplane-mode": "ambient" },
    podSecurityContext: pod,
    securityContext: container,
    resources,
    // serviceMonitor.enabled also makes the metrics Services (the chart's service.yaml).
    serviceMonitor: { enabled: a.monitoring, namespace: a.namespace, interval: "30s" },
    webhook: {
      replicaCount: a.ha ? 2 : 1,
      podDisruptionBudget: a.ha ? { enabled: true, minAvailable: 1 } : { enabled: false },
      podSecurityContext: pod,
      securityContext: container,
      resources,
    },
    certController: {
      replicaCount: 1,
      podSecurityContext: pod,
      securityContext: container,
      resources,
    },
  };
}

/** Inputs of the operator. */
export interface ExternalSecretsArgs {
  /** Its namespace (created here, Pod Security restricted, not in the mesh). */
  readonly namespace: string;
  /** Two controllers with leader election, two webhooks, PDBs (prod). */
  readonly ha: boolean;
  /** The prometheus-operator CRDs (its ServiceMonitors); empty: no monitor. */
  readonly monitoringCrds: pulumi.Input<pulumi.Resource>[];
}

/** External Secrets: namespace and chart (its CRDs included). */
export class ExternalSecrets extends pulumi.ComponentResource {
  public readonly namespace: pulumi.Output<string>;
  /** SecretStores and ExternalSecrets need its CRDs and its webhook. */
  public readonly release: k8s.helm.v4.Chart;

  constructor(name: string, args: ExternalSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:secrets:ExternalSecrets", name, {}, opts);
    this.namespace = platformNamespace(`${name}-namespace`, args.namespace, { parent: this }).metadata.name;
    this.release = chartRelease(
      name,
      { releaseName: EXTERNAL_SECRETS_NAME, pin: charts.externalSecrets, namespace: this.namespace, values: externalSecretsValues({ ha: args.ha, monitoring: args.monitoringCrds.length > 0, namespace: args.namespace }) },
      childOptions(this, opts, args.monitoringCrds),
    );
    this.registerOutputs({ namespace: this.namespace });
  }
}
