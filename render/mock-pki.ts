/**
 * What the tls provider computes, computed for the mock runtime: real ECDSA keys and real X.509
 * certificates and CSRs, as `pulumi up` would put them in Secrets (the API server parses
 * `kubernetes.io/tls` Secrets and warns on anything else: docs/e2e.md). Deterministic, so renders
 * stay reproducible: keys are derived from the resource's name, signatures are RFC 6979
 * (@noble/curves; Node's ECDSA signing is randomized), validity starts at a fixed instant.
 * Shapes follow the provider (hashicorp/terraform-provider-tls, Go's crypto/x509): SEC1
 * "EC PRIVATE KEY", PKCS#8, PKIX public key, SHA-256 signatures for P-256 keys and SHA-384 for
 * P-384, subject key identifiers, the CA's as authority key identifier.
 */
import { p256, p384 } from "@noble/curves/nist";
import { createHash, createPrivateKey, createPublicKey } from "crypto";

type Curve = "P256" | "P384";
interface Key {
  readonly curve: Curve;
  readonly d: Uint8Array;
  /** Uncompressed public point. */
  readonly pub: Uint8Array;
}

const CURVES = {
  P256: { noble: p256, oid: "1.2.840.10045.3.1.7", size: 32, hash: "sha256", sigOid: "1.2.840.10045.4.3.2", jwk: "P-256" },
  P384: { noble: p384, oid: "1.3.132.0.34", size: 48, hash: "sha384", sigOid: "1.2.840.10045.4.3.3", jwk: "P-384" },
} as const;

/** The moment every mock certificate's validity starts (fixed: renders are reproducible). */
export const MOCK_NOT_BEFORE = Date.UTC(2026, 0, 1);

// ---- DER ------------------------------------------------------------------------------------
const len = (n: number): Buffer => (n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]));
const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), len(body.length), body]);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const ctx = (n: number, body: Buffer, constructed = true) => tlv((constructed ? 0xa0 : 0x80) | n, body);
const int = (b: Buffer | number): Buffer => {
  let v = typeof b === "number" ? Buffer.from([b]) : b;
  while (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80)) v = v.subarray(1);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
};
const oid = (s: string): Buffer => {
  const p = s.split(".").map(Number);
  const out = [40 * p[0]! + p[1]!];
  for (const n of p.slice(2)) {
    const bytes = [n & 0x7f];
    for (let x = n >> 7; x > 0; x >>= 7) bytes.unshift((x & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
};
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const octets = (b: Buffer) => tlv(0x04, b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const printable = (s: string) => (/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s) ? tlv(0x13, Buffer.from(s)) : tlv(0x0c, Buffer.from(s, "utf8")));
const time = (ms: number): Buffer => {
  const iso = new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14);
  // UTCTime until 2049, GeneralizedTime after (RFC 5280 4.1.2.5), as Go marshals validity.
  return new Date(ms).getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
};
const pem = (label: string, der: Buffer) => `-----BEGIN ${label}-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END ${label}-----\n`;

// ---- keys -----------------------------------------------------------------------------------
const keys = new Map<string, Key>();

/** A deterministic ECDSA key from a seed, as the provider's PEM outputs. */
export function mockPrivateKey(seed: string, curve: Curve): Record<string, string> {
  const c = CURVES[curve];
  let d: Uint8Array | undefined;
  for (let i = 0; !d; i++) {
    const cand = createHash(c.hash).update(`${seed}/${i}`).digest();
    if (c.noble.utils.isValidPrivateKey(cand)) d = cand;
  }
  const pub = c.noble.getPublicKey(d, false);
  const key: Key = { curve, d, pub };
  const sec1 = seq(int(1), octets(Buffer.from(d)), ctx(0, oid(c.oid)), ctx(1, bits(Buffer.from(pub))));
  const priv = createPrivateKey({ key: sec1, format: "der", type: "sec1" });
  const out = {
    privateKeyPem: pem("EC PRIVATE KEY", sec1),
    privateKeyPemPkcs8: String(priv.export({ format: "pem", type: "pkcs8" })),
    publicKeyPem: String(createPublicKey(priv).export({ format: "pem", type: "spki" })),
  };
  keys.set(out.privateKeyPem, key);
  return out;
}

const spki = (k: Key) => seq(seq(oid("1.2.840.10045.2.1"), oid(CURVES[k.curve].oid)), bits(Buffer.from(k.pub)));
const keyId = (k: Key) => createHash("sha1").update(k.pub).digest();

/** Whether a private key PEM is one this module made (an ECDSA P-256 or P-384 mock key). */
export const isMockKey = (privateKeyPem: unknown): boolean => keys.has(String(privateKeyPem));

function keyOf(privateKeyPem: unknown): Key {
  const k = keys.get(String(privateKeyPem));
  if (!k) throw new Error("mock tls: a private key the mock did not make (only tls.PrivateKey outputs can sign under the mock runtime)");
  return k;
}

function signed(tbs: Buffer, k: Key): Buffer {
  const c = CURVES[k.curve];
  const digest = createHash(c.hash).update(tbs).digest();
  const sig = c.noble.sign(digest, k.d, { prehash: false, lowS: false }).toDERRawBytes();
  return seq(tbs, seq(oid(c.sigOid)), bits(Buffer.from(sig)));
}

// ---- names and extensions -------------------------------------------------------------------
type Subject = Record<string, unknown>;
const NAME_OIDS: [string, string][] = [
  ["country", "2.5.4.6"], ["province", "2.5.4.8"], ["locality", "2.5.4.7"], ["streetAddresses", "2.5.4.9"], ["postalCode", "2.5.4.17"],
  ["organization", "2.5.4.10"], ["organizationalUnit", "2.5.4.11"], ["commonName", "2.5.4.3"], ["serialNumber", "2.5.4.5"],
];
function name(subject: Subject | undefined): Buffer {
  const rdns: Buffer[] = [];
  for (const [field, o] of NAME_OIDS) {
    const v = subject?.[field];
    for (const s of (Array.isArray(v) ? v : v === undefined || v === "" ? [] : [v]) as string[]) rdns.push(set(seq(oid(o), printable(String(s)))));
  }
  return seq(...rdns);
}

interface Sans {
  readonly dnsNames?: unknown;
  readonly ipAddresses?: unknown;
  readonly uris?: unknown;
}
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
function sanExtension(s: Sans): Buffer | undefined {
  const ip = (a: string) => {
    if (a.includes(":")) throw new Error(`mock tls: IPv6 SAN ${a} is not supported by the mock runtime`);
    return Buffer.from(a.split(".").map(Number));
  };
  const names = [...list(s.dnsNames).map((d) => ctx(2, Buffer.from(d), false)), ...list(s.ipAddresses).map((a) => ctx(7, ip(a), false)), ...list(s.uris).map((u) => ctx(6, Buffer.from(u), false))];
  return names.length ? seq(oid("2.5.29.17"), octets(seq(...names))) : undefined;
}

const KEY_USAGE_BITS: Record<string, number> = { digital_signature: 0, content_commitment: 1, key_encipherment: 2, data_encipherment: 3, key_agreement: 4, cert_signing: 5, crl_signing: 6, encipher_only: 7, decipher_only: 8 };
const EXT_KEY_USAGE: Record<string, string> = { server_auth: "1.3.6.1.5.5.7.3.1", client_auth: "1.3.6.1.5.5.7.3.2", code_signing: "1.3.6.1.5.5.7.3.3", email_protection: "1.3.6.1.5.5.7.3.4", timestamping: "1.3.6.1.5.5.7.3.8", ocsp_signing: "1.3.6.1.5.5.7.3.9" };

function extensions(inputs: Record<string, unknown>, sans: Sans, subjectKey: Key, issuerKey: Key): Buffer {
  const uses = list(inputs["allowedUses"]);
  const exts: Buffer[] = [];
  const ku = uses.filter((u) => u in KEY_USAGE_BITS).map((u) => KEY_USAGE_BITS[u]!);
  if (ku.length) {
    const max = Math.max(...ku);
    const bytes = Buffer.alloc(Math.floor(max / 8) + 1);
    for (const b of ku) bytes[Math.floor(b / 8)]! |= 0x80 >> b % 8;
    exts.push(seq(oid("2.5.29.15"), bool(true), octets(bits(bytes, 7 - (max % 8)))));
  }
  const eku = uses.filter((u) => u in EXT_KEY_USAGE).map((u) => oid(EXT_KEY_USAGE[u]!));
  if (eku.length) exts.push(seq(oid("2.5.29.37"), octets(seq(...eku))));
  const ca = inputs["isCaCertificate"] === true;
  exts.push(seq(oid("2.5.29.19"), bool(true), octets(seq(...(ca ? [bool(true)] : [])))));
  exts.push(seq(oid("2.5.29.14"), octets(octets(keyId(subjectKey)))));
  if (issuerKey !== subjectKey) exts.push(seq(oid("2.5.29.35"), octets(seq(ctx(0, keyId(issuerKey), false)))));
  const san = sanExtension(sans);
  if (san) exts.push(san);
  return ctx(3, seq(...exts));
}

function certificate(seed: string, inputs: Record<string, unknown>, subject: Buffer, subjectKey: Key, issuer: Buffer, issuerKey: Key, sans: Sans): string {
  const hours = Number(inputs["validityPeriodHours"] ?? 24);
  const serial = createHash("sha256").update(`serial/${seed}`).digest().subarray(0, 16);
  serial[0]! &= 0x7f;
  const sigAlg = seq(oid(CURVES[issuerKey.curve].sigOid));
  const tbs = seq(ctx(0, int(2)), int(serial), sigAlg, issuer, seq(time(MOCK_NOT_BEFORE), time(MOCK_NOT_BEFORE + hours * 3600_000)), subject, spki(subjectKey), extensions(inputs, sans, subjectKey, issuerKey));
  return pem("CERTIFICATE", signed(tbs, issuerKey));
}

// ---- the provider's resources ---------------------------------------------------------------
const subjects = new Map<string, { name: Buffer; key: Key }>();
const requests = new Map<string, { name: Buffer; key: Key; sans: Sans }>();

/** tls.SelfSignedCert's certPem. */
export function mockSelfSignedCert(seed: string, inputs: Record<string, unknown>): string {
  const key = keyOf(inputs["privateKeyPem"]);
  const n = name(inputs["subject"] as Subject | undefined);
  const certPem = certificate(seed, inputs, n, key, n, key, inputs);
  subjects.set(certPem, { name: n, key });
  return certPem;
}

/** tls.CertRequest's certRequestPem (PKCS#10, the SANs as an extension request). */
export function mockCertRequest(inputs: Record<string, unknown>): string {
  const key = keyOf(inputs["privateKeyPem"]);
  const n = name(inputs["subject"] as Subject | undefined);
  const san = sanExtension(inputs);
  const attrs = ctx(0, san ? seq(oid("1.2.840.113549.1.9.14"), set(seq(san))) : Buffer.alloc(0));
  const csrPem = pem("CERTIFICATE REQUEST", signed(seq(int(0), n, spki(key), attrs), key));
  requests.set(csrPem, { name: n, key, sans: inputs });
  return csrPem;
}

/** tls.LocallySignedCert's certPem: the request's subject, key and SANs, signed by the CA. */
export function mockLocallySignedCert(seed: string, inputs: Record<string, unknown>): string {
  const req = requests.get(String(inputs["certRequestPem"]));
  const ca = subjects.get(String(inputs["caCertPem"]));
  if (!req || !ca) throw new Error("mock tls: LocallySignedCert from a request or CA the mock did not make");
  if (keyOf(inputs["caPrivateKeyPem"]) !== ca.key) throw new Error("mock tls: caPrivateKeyPem is not the key of caCertPem");
  const certPem = certificate(seed, inputs, req.name, req.key, ca.name, ca.key, req.sans);
  subjects.set(certPem, { name: req.name, key: req.key });
  return certPem;
}
