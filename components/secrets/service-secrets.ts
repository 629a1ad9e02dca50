/**
 * One service's secrets from the store: a SecretStore that logs in to Vault with the service's own
 * ServiceAccount (Kubernetes auth, the role store-access.ts derives), and an ExternalSecret that
 * keeps the Secret `<service>-store` equal to the declared paths and fields. The service reads that
 * Secret as env or files (Microservice `storeSecret`); no secret value passes through the program.
 */
import * as pulumi from "@pulumi/pulumi";
import { childOptions, customResource, K8sObject } from "../core/objects";
import { PLATFORM_LABELS } from "../shared/labels";
import { EXTERNAL_SECRETS_API, secretStoreWithCa, vaultStoreSpec } from "./external-secrets";
import { ServiceStoreAccess, storeSecretNameOf } from "./store-access";

/** The SecretStore and ExternalSecret of one service (pure: the tests and the audit read these). */
export function serviceSecretObjects(a: ServiceStoreAccess, store: { readonly url: string; readonly caBundle: string; readonly refreshInterval: string }): K8sObject[] {
  const labels = { ...PLATFORM_LABELS, "app.kubernetes.io/instance": a.service };
  const storeName = `${a.service}-store`;
  return [
    {
      apiVersion: EXTERNAL_SECRETS_API,
      kind: "SecretStore",
      metadata: { name: storeName, namespace: a.namespace, labels },
      spec: vaultStoreSpec({ url: store.url, caBundle: store.caBundle, role: a.name, serviceAccount: a.serviceAccount }),
    },
    {
      apiVersion: EXTERNAL_SECRETS_API,
      kind: "ExternalSecret",
      metadata: { name: a.service, namespace: a.namespace, labels },
      spec: {
        refreshInterval: store.refreshInterval,
        secretStoreRef: { kind: "SecretStore", name: storeName },
        // Owner: the Secret goes with the ExternalSecret; the pods read it by this name.
        target: { name: storeSecretNameOf(a.service), creationPolicy: "Owner", deletionPolicy: "Retain" },
        data: a.entries.map((e) => ({ secretKey: e.name, remoteRef: { key: e.path, property: e.key } })),
      },
    },
  ];
}

/** Inputs of one service's secrets. */
export interface ServiceSecretsArgs {
  readonly access: ServiceStoreAccess;
  /** The store's URL and CA (PEM; public). */
  readonly storeUrl: string;
  readonly caCertPem: pulumi.Input<string>;
  readonly refreshInterval: string;
}

/** A service's SecretStore and ExternalSecret. */
export class ServiceSecrets extends pulumi.ComponentResource {
  /** The Secret the operator writes: pass it to Microservice `storeSecret` so its pods wait for the ExternalSecret. */
  public readonly secretName: pulumi.Output<string>;

  constructor(name: string, args: ServiceSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:secrets:ServiceSecrets", name, {}, opts);
    const caBundle = pulumi.output(args.caCertPem).apply((pem) => Buffer.from(pem).toString("base64"));
    const [store, external] = serviceSecretObjects(args.access, { url: args.storeUrl, caBundle: "", refreshInterval: args.refreshInterval }) as [K8sObject, K8sObject];
    const storeCr = customResource(`${name}-secretstore`, secretStoreWithCa(store, caBundle), childOptions(this, opts));
    const es = customResource(`${name}-externalsecret`, external, childOptions(this, opts, [storeCr]));
    this.secretName = es.id.apply(() => storeSecretNameOf(args.access.service));
    this.registerOutputs({ secretName: this.secretName });
  }
}
