/**
 * Small PKI helpers on @pulumi/tls, shared by the areas that issue their own certificates (etcd
 * peers and clients, Consul's agent CA, the Kafka listener). Keys and certificates stay Pulumi
 * outputs from creation to the Secret that holds them; the private keys are marked secret.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/** A certificate authority: its certificate (public) and private key (secret). */
export interface CertificateAuthority {
  readonly certPem: pulumi.Output<string>;
  readonly keyPem: pulumi.Output<string>;
}

/** A leaf certificate and its private key (secret). */
export interface IssuedCert {
  readonly certPem: pulumi.Output<string>;
  readonly keyPem: pulumi.Output<string>;
}

/** Ten years for a CA, one year for leaves: leaves are reissued by `pulumi up` before expiry. */
const CA_HOURS = 24 * 365 * 10;
const LEAF_HOURS = 24 * 365;
/** Reissue leaves a month before they expire. */
const EARLY_RENEWAL_HOURS = 24 * 30;

function ecdsaKey(name: string, opts: pulumi.CustomResourceOptions): tls.PrivateKey {
  return new tls.PrivateKey(name, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { ...opts, additionalSecretOutputs: ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"] });
}

/** Where a CA differs from the platform's default one. */
export interface CaOptions {
  /** Subject organization (default `platform`). */
  readonly organization?: string;
  /** Lifetime in hours (default ten years). */
  readonly validityHours?: number;
  /** Re-issued by the first `pulumi up` this many hours before expiry (default: never early). */
  readonly earlyRenewalHours?: number;
  /** Key usages (default cert_signing, crl_signing, digital_signature). */
  readonly allowedUses?: readonly string[];
}

/** A self-signed CA (ECDSA P-256). */
export function selfSignedCa(name: string, commonName: string, opts: pulumi.CustomResourceOptions, ca: CaOptions = {}): CertificateAuthority {
  const key = ecdsaKey(`${name}-key`, opts);
  const cert = new tls.SelfSignedCert(
    `${name}-cert`,
    {
      privateKeyPem: key.privateKeyPem,
      subject: { commonName, organization: ca.organization ?? "platform" },
      isCaCertificate: true,
      validityPeriodHours: ca.validityHours ?? CA_HOURS,
      ...(ca.earlyRenewalHours !== undefined ? { earlyRenewalHours: ca.earlyRenewalHours } : {}),
      allowedUses: [...(ca.allowedUses ?? ["cert_signing", "crl_signing", "digital_signature"])],
    },
    opts,
  );
  return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
}

/** What a leaf certificate is for, and whom it names. */
export interface LeafSpec {
  readonly commonName: string;
  /** DNS subject alternative names. */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** URI subject alternative names (a client's SPIFFE ID, which NATS maps to its user). */
  readonly uris?: readonly string[];
  /** server, client, or both (etcd peers are both). */
  readonly usage: "server" | "client" | "peer";
  /** Subject organization (default `platform`). */
  readonly organization?: string;
}

/** Extended key usages of a leaf by its role. */
export function leafUses(usage: LeafSpec["usage"]): string[] {
  const base = ["digital_signature", "key_encipherment"];
  if (usage === "server") return [...base, "server_auth"];
  if (usage === "client") return [...base, "client_auth"];
  return [...base, "server_auth", "client_auth"];
}

/** A leaf certificate signed by `ca`. */
export function issueCert(name: string, ca: CertificateAuthority, spec: LeafSpec, opts: pulumi.CustomResourceOptions): IssuedCert {
  const key = ecdsaKey(`${name}-key`, opts);
  const csr = new tls.CertRequest(
    `${name}-csr`,
    {
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: spec.commonName, organization: spec.organization ?? "platform" },
      ...(spec.dnsNames?.length ? { dnsNames: [...spec.dnsNames] } : {}),
      ...(spec.ipAddresses?.length ? { ipAddresses: [...spec.ipAddresses] } : {}),
      ...(spec.uris?.length ? { uris: [...spec.uris] } : {}),
    },
    opts,
  );
  const cert = new tls.LocallySignedCert(
    `${name}-cert`,
    {
      certRequestPem: csr.certRequestPem,
      caPrivateKeyPem: ca.keyPem,
      caCertPem: ca.certPem,
      validityPeriodHours: LEAF_HOURS,
      earlyRenewalHours: EARLY_RENEWAL_HOURS,
      allowedUses: leafUses(spec.usage),
    },
    opts,
  );
  return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
}

/** The DNS names of a Kubernetes Service, short to fully qualified. */
export function serviceDnsNames(service: string, namespace: string, domain: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${domain}`];
}

/** `ca.crt`, `tls.crt`, `tls.key` of a Secret holding a certificate, as one secret output. */
export function tlsSecretData(ca: CertificateAuthority, cert: IssuedCert): pulumi.Output<Record<string, string>> {
  return pulumi.secret(pulumi.all([ca.certPem, cert.certPem, cert.keyPem]).apply(([c, crt, key]): Record<string, string> => ({ "ca.crt": c, "tls.crt": crt, "tls.key": key })));
}
