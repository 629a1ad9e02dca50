import { kubernetesSecrets, SecretSinks } from "../shared/secret-sink";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, customResource } from "../core/objects";
import { issueCert, selfSignedCa } from "../shared/pki";
import { DataPlaneSettings, envoyClientTrafficPolicy, envoyProxy, gateway, gatewayClass, gatewayPodMonitors, httpsRedirectRoute, Implementation } from "./routing";

/** Inputs of the entry Gateway. */
export interface EntryGatewayArgs {
  /** Which Gateway API implementation serves it (gateway.implementation). */
  readonly implementation: Implementation;
  /** Namespace of the Gateway and its TLS Secret (gateway.namespace). */
  readonly namespace: string;
  /** Host names served; one HTTPS listener each, all in the certificate (gateway.hostnames). */
  readonly hostnames: readonly string[];
  /** generate: a stack CA and server certificate; existingSecret: a kubernetes.io/tls Secret you provide. */
  readonly tls: { readonly mode: "generate" | "existingSecret"; readonly secretName?: string };
  /** Application namespaces whose routes may attach. */
  readonly appNamespaces: readonly string[];
  /** Data-plane shape (Envoy's EnvoyProxy; Traefik's lives in its chart values). */
  readonly dataPlane: DataPlaneSettings;
  /** Stack name, for the certificate's organization. */
  readonly stack: string;
  /** The prometheus-operator CRDs release, when the stack has one: then the gateway gets PodMonitors. */
  readonly monitoringCrds?: pulumi.Resource[];
  /** Where its generated Secrets go (default: Kubernetes Secrets; the store's sink with secrets.platformSecrets). */
  readonly secretSinks?: SecretSinks;
}

/** Name of the generated TLS Secret. */
export const GENERATED_TLS_SECRET = "platform-gateway-tls";

/**
 * The platform's entry: GatewayClass and Gateway (HTTP → HTTPS redirect, TLS termination) and,
 * for Envoy, the EnvoyProxy and gateway-wide ClientTrafficPolicy. With `tls.mode: generate` the
 * certificate chain comes from @pulumi/tls: a stack CA (give its certificate to clients) and a
 * server certificate for every hostname; the keys exist only as Pulumi secrets and the Secret.
 */
export class EntryGateway extends pulumi.ComponentResource {
  /** The CA certificate clients trust (generated mode only). */
  public readonly caCertPem?: pulumi.Output<string>;
  /** Name of the TLS Secret the HTTPS listeners use. */
  public readonly tlsSecretName: string;
  /** https:// URL per hostname. */
  public readonly urls: string[];

  constructor(name: string, args: EntryGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:gateway:EntryGateway", name, {}, opts);
    const ns = args.namespace;
    const opt = childOptions(this, opts);

    if (args.tls.mode === "generate") {
      const organization = `platform/${args.stack}`;
      const ca = selfSignedCa(`${name}-ca`, `platform ${args.stack} gateway CA`, opt, {
        organization,
        validityHours: 5 * 365 * 24,
        earlyRenewalHours: 90 * 24,
        allowedUses: ["cert_signing", "crl_signing"],
      });
      // One year, renewed on the first `pulumi up` in its last 30 days (the shared leaf policy).
      const server = issueCert(`${name}-server`, ca, { commonName: args.hostnames[0]!, dnsNames: args.hostnames, usage: "server", organization }, opt);
      (args.secretSinks ?? kubernetesSecrets)(this, name).secret(
        `${name}-tls`,
        {
          name: GENERATED_TLS_SECRET,
          namespace: ns,
          type: "kubernetes.io/tls",
          // Chain: server certificate then the CA, so clients that pin the CA can build the path.
          data: {
            "tls.crt": pulumi.interpolate`${server.certPem}${ca.certPem}`,
            "tls.key": server.keyPem,
          },
        },
        opt,
      );
      this.caCertPem = ca.certPem;
      this.tlsSecretName = GENERATED_TLS_SECRET;
    } else {
      this.tlsSecretName = args.tls.secretName!;
    }

    if (args.implementation === "envoy") {
      // The GatewayClass's parametersRef names these; created first so the class is accepted at once.
      customResource(`${name}-envoyproxy`, envoyProxy(ns, args.dataPlane), opt);
    }
    customResource(`${name}-class`, gatewayClass(args.implementation, ns), opt);
    customResource(`${name}-gateway`, gateway(args.implementation, ns, args.hostnames, this.tlsSecretName, args.appNamespaces), opt);
    customResource(`${name}-https-redirect`, httpsRedirectRoute(ns), opt);
    if (args.implementation === "envoy") customResource(`${name}-client-policy`, envoyClientTrafficPolicy(ns), opt);
    if (args.monitoringCrds?.length) {
      // PodMonitor is a prometheus-operator CRD: the only reason for this edge.
      for (const m of gatewayPodMonitors(args.implementation, ns)) customResource(`${name}-podmonitor-${m.metadata.name}`, m, childOptions(this, opts, args.monitoringCrds));
    }

    this.urls = args.hostnames.map((h) => `https://${h}`);
    this.registerOutputs({ caCertPem: this.caCertPem, tlsSecretName: this.tlsSecretName, urls: this.urls });
  }
}
