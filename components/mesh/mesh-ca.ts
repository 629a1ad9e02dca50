import { BOOTSTRAP_ANNOTATION } from "../shared/secret-sink";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { childOptions } from "../core/objects";

/** Inputs of the mesh's plug-in CA. */
export interface MeshCaArgs {
  /** istio-system (created by the Platform; istiod reads `cacerts` there). */
  readonly namespace: pulumi.Input<string>;
  /** Cluster name, in the intermediate's subject. */
  readonly clusterName: string;
  /** Trust domain (cluster.domain), in the certificates' organization. */
  readonly trustDomain: string;
  /**
   * The platform's other secrets come from the store (secrets.platformSecrets): this one stays a
   * Secret of the store's bootstrap, since ztunnel carries External Secrets' connection to the store
   * with certificates from this CA.
   */
  readonly storeBootstrap?: boolean;
}

/** The four keys istiod reads from the `cacerts` Secret. */
export const CACERTS_KEYS = ["ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"] as const;

/**
 * Istio's plug-in CA: a root CA and a cluster intermediate from @pulumi/tls, delivered as the
 * `cacerts` Secret before istiod starts (istiod only reads it at start-up; without it, it makes a
 * self-signed root that no other cluster or tool trusts). The root's key exists only as a Pulumi
 * secret; workloads get leaf certificates from istiod, signed by the intermediate.
 */
export class MeshCa extends pulumi.ComponentResource {
  /** The root certificate, to federate trust (other clusters, egress verifiers). */
  public readonly rootCertPem: pulumi.Output<string>;

  constructor(name: string, args: MeshCaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:mesh:MeshCa", name, {}, opts);
    const opt = childOptions(this, opts);
    const rootKey = new tls.PrivateKey(`${name}-root-key`, { algorithm: "ECDSA", ecdsaCurve: "P384" }, opt);
    const root = new tls.SelfSignedCert(
      `${name}-root`,
      {
        privateKeyPem: rootKey.privateKeyPem,
        subject: { commonName: `${args.trustDomain} root CA`, organization: args.trustDomain },
        isCaCertificate: true,
        validityPeriodHours: 10 * 365 * 24,
        allowedUses: ["cert_signing", "crl_signing"],
      },
      opt,
    );
    const interKey = new tls.PrivateKey(`${name}-intermediate-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opt);
    const interCsr = new tls.CertRequest(
      `${name}-intermediate-csr`,
      { privateKeyPem: interKey.privateKeyPem, subject: { commonName: `${args.clusterName} intermediate CA`, organization: args.trustDomain } },
      opt,
    );
    const inter = new tls.LocallySignedCert(
      `${name}-intermediate`,
      {
        certRequestPem: interCsr.certRequestPem,
        caPrivateKeyPem: rootKey.privateKeyPem,
        caCertPem: root.certPem,
        isCaCertificate: true,
        validityPeriodHours: 2 * 365 * 24,
        // Re-issued on the first `pulumi up` in its last 90 days; istiod must restart to load it.
        earlyRenewalHours: 90 * 24,
        allowedUses: ["cert_signing", "crl_signing"],
      },
      opt,
    );
    new k8s.core.v1.Secret(
      `${name}-cacerts`,
      {
        metadata: { name: "cacerts", namespace: args.namespace, ...(args.storeBootstrap ? { annotations: { [BOOTSTRAP_ANNOTATION]: "the mesh CA" } } : {}) },
        stringData: {
          "ca-cert.pem": inter.certPem,
          "ca-key.pem": pulumi.secret(interKey.privateKeyPem),
          "root-cert.pem": root.certPem,
          "cert-chain.pem": pulumi.interpolate`${inter.certPem}${root.certPem}`,
        },
      },
      opt,
    );
    this.rootCertPem = root.certPem;
    this.registerOutputs({ rootCertPem: this.rootCertPem });
  }
}
