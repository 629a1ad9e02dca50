/**
 * The mock runtime's tls provider (render/mock-pki.ts) makes what the real one makes: keys that
 * parse, certificates that chain, carry the requested names and uses, and are signed by the key
 * the program named; and the same ones on every run.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from "crypto";
import { mockCertRequest, mockLocallySignedCert, mockPrivateKey, mockSelfSignedCert } from "../render/mock-pki";

const root = () => {
  const key = mockPrivateKey("root-key", "P384");
  const cert = mockSelfSignedCert("root", { privateKeyPem: key.privateKeyPem, subject: { commonName: "test root", organization: "platform" }, isCaCertificate: true, validityPeriodHours: 87600, allowedUses: ["cert_signing", "crl_signing"] });
  return { key, cert };
};

describe("mock tls keys and certificates", () => {
  it("gives keys in the provider's formats, the same for the same resource", () => {
    const k = mockPrivateKey("a", "P256");
    expect(k.privateKeyPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    expect(k.privateKeyPemPkcs8).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(createPublicKey(createPrivateKey(k.privateKeyPem)).export({ type: "spki", format: "pem" })).toBe(k.publicKeyPem);
    expect(createPrivateKey(k.privateKeyPem).asymmetricKeyDetails).toEqual({ namedCurve: "prime256v1" });
    expect(mockPrivateKey("a", "P256")).toEqual(k);
    expect(mockPrivateKey("b", "P256").privateKeyPem).not.toBe(k.privateKeyPem);
  });

  it("self-signs a CA with the requested subject, uses and validity", () => {
    const { key, cert } = root();
    const x = new X509Certificate(cert);
    expect(x.subject).toBe("O=platform\nCN=test root");
    expect(x.issuer).toBe(x.subject);
    expect(x.ca).toBe(true);
    expect(x.verify(createPublicKey(key.publicKeyPem))).toBe(true);
    expect(new Date(x.validTo).getTime() - new Date(x.validFrom).getTime()).toBe(87600 * 3600_000);
    expect(root().cert).toBe(cert);
  });

  it("signs a request with the CA: the request's subject, key and names, chaining to the CA", () => {
    const ca = root();
    const leafKey = mockPrivateKey("leaf-key", "P256");
    const csr = mockCertRequest({ privateKeyPem: leafKey.privateKeyPem, subject: { commonName: "svc" }, dnsNames: ["svc.ns.svc"], ipAddresses: ["10.0.0.1"], uris: ["spiffe://cluster.local/ns/ns/sa/svc"] });
    expect(csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    const cert = mockLocallySignedCert("leaf", { certRequestPem: csr, caCertPem: ca.cert, caPrivateKeyPem: ca.key.privateKeyPem, validityPeriodHours: 24, allowedUses: ["digital_signature", "server_auth", "client_auth"] });
    const x = new X509Certificate(cert);
    expect(x.subject).toBe("CN=svc");
    expect(x.issuer).toBe("O=platform\nCN=test root");
    expect(x.ca).toBe(false);
    expect(x.subjectAltName).toBe("DNS:svc.ns.svc, IP Address:10.0.0.1, URI:spiffe://cluster.local/ns/ns/sa/svc");
    expect(x.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    expect(x.checkIssued(new X509Certificate(ca.cert))).toBe(true);
    expect(x.verify(createPublicKey(ca.key.publicKeyPem))).toBe(true);
    expect(x.checkPrivateKey(createPrivateKey(leafKey.privateKeyPem))).toBe(true);
    // Signed by another key, it does not verify against this CA.
    expect(x.verify(createPublicKey(mockPrivateKey("other", "P384").publicKeyPem))).toBe(false);
  });

  it("refuses to sign with a key that is not the CA's", () => {
    const ca = root();
    const leafKey = mockPrivateKey("leaf-key", "P256");
    const csr = mockCertRequest({ privateKeyPem: leafKey.privateKeyPem, subject: { commonName: "svc" } });
    expect(() => mockLocallySignedCert("leaf", { certRequestPem: csr, caCertPem: ca.cert, caPrivateKeyPem: leafKey.privateKeyPem })).toThrow(/not the key of caCertPem/);
  });
});
