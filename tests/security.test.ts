import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { exemptionFor } from "../policy/config";
import { admissionPolicies, CYCLONEDX_SBOM, SLSA_PROVENANCE_V1 } from "../components/security/admission-policies";
import { kyvernoValues } from "../components/security/kyverno";
import { Rendered, renderStack } from "../render/render";
import { platformConfigOf, readStackConfig, ROOT } from "../render/stack";
import { charts } from "../versions";
import { CRD_DIR, CrdValidator } from "./support/crd-schema";
import { unknownValueKeys } from "./support/helm-values";

const crds = new CrdValidator(CRD_DIR);
const renders: Record<string, Rendered> = {};
beforeAll(async () => {
  renders["dev"] = await renderStack("dev");
  renders["prod"] = await renderStack("prod");
});
const objectsOf = (r: Rendered) => r.model.groups.flatMap((g) => g.objects);

describe.each(["dev", "prod"])("Kyverno in %s", (stack) => {
  it("renders ClusterPolicies that validate against the pinned Kyverno CRDs, in the configured mode", () => {
    const r = renders[stack]!;
    const cps = objectsOf(r).filter((o) => o.kind === "ClusterPolicy") as any[];
    expect(cps.map((c) => c.metadata.name).sort()).toEqual(["image-registries", "pod-security", "verify-images"]);
    for (const c of cps) expect({ name: c.metadata.name, ...crds.validate(c) }).toEqual({ name: c.metadata.name, ok: true, errors: [], celNotEvaluated: [] });
    const mode = r.config.security.enforcement;
    expect(mode).toBe(stack === "prod" ? "Enforce" : "Audit");
    for (const c of cps) {
      for (const rule of c.spec.rules) {
        const actions = [rule.validate?.failureAction, ...(rule.verifyImages ?? []).map((v: any) => v.failureAction)].filter(Boolean);
        expect(actions).toEqual(actions.map(() => mode));
        if (c.metadata.name === "pod-security") {
          // Every namespace the platform creates but the ones excluded by name, each with its reason.
          expect(rule.match.any[0].resources.namespaces).toBeUndefined();
          expect(rule.match.any[0].resources.namespaceSelector).toEqual({ matchLabels: { "app.kubernetes.io/part-of": "platform" } });
          const ours = objectsOf(r).filter((o) => o.kind === "Namespace" && o.metadata.labels?.["app.kubernetes.io/part-of"] === "platform").map((o) => o.metadata.name);
          expect(ours).toEqual(expect.arrayContaining(["apps", "notifications", "gateway-system", "discovery", "kafka", "nats"]));
          expect(rule.exclude.any[0].resources.namespaces).toEqual(["kube-system", "istio-system", "observability", "kyverno"]);
          expect(c.metadata.annotations["platform.io/excluded-namespaces"]).toContain("istio-system: ztunnel and istio-cni are node agents");
        } else expect(rule.match.any[0].resources.namespaces).toEqual(["apps", "notifications"]);
      }
    }
  });

  it("requires a signature by the configured identity with SLSA provenance from the configured builder and a CycloneDX SBOM", () => {
    const r = renders[stack]!;
    const vi = (objectsOf(r).find((o) => o.kind === "ClusterPolicy" && o.metadata.name === "verify-images") as any).spec.rules[0].verifyImages[0];
    expect(vi.imageReferences).toEqual(r.config.security.allowedRegistries.map((x) => `${x}/*`));
    // Enforce pins what runs to the verified digest; Kyverno refuses mutateDigest with Audit.
    expect(vi.mutateDigest).toBe(r.config.security.enforcement === "Enforce");
    expect(vi.required).toBe(true);
    const keyless = r.config.security.signing!.keyless!;
    expect(vi.attestors[0].entries[0].keyless).toMatchObject({ issuer: keyless.issuer, subject: keyless.subject });
    expect(vi.attestations.map((a: any) => a.type)).toEqual([SLSA_PROVENANCE_V1, CYCLONEDX_SBOM]);
    // SLSA v1 provenance names its builder at runDetails.builder.id.
    if (r.config.security.slsaBuilderId) expect(vi.attestations[0].conditions).toEqual([{ all: [{ key: "{{ runDetails.builder.id }}", operator: "Equals", value: r.config.security.slsaBuilderId }] }]);
  });

  it("keeps Kyverno's namespace out of the mesh, and admits application pods only after the policies exist", () => {
    const r = renders[stack]!;
    const ns = objectsOf(r).find((o) => o.kind === "Namespace" && o.metadata.name === "kyverno") as any;
    expect(ns.metadata.labels["istio.io/dataplane-mode"]).toBeUndefined();
    const policyUrns = r.run.resources.filter((x) => (x.inputs as any)?.kind === "ClusterPolicy").map((x) => x.urn);
    const kyverno = r.run.resources.find((x) => x.type === "kubernetes:helm.sh/v4:Chart" && (x.inputs as any).chart === "kyverno")!;
    for (const p of r.run.resources.filter((x) => (x.inputs as any)?.kind === "ClusterPolicy")) expect(p.dependencies).toContain(kyverno.urn);
    for (const d of r.run.resources.filter((x) => x.type === "kubernetes:apps/v1:Deployment" && ["apps", "notifications"].includes((x.inputs as any).metadata.namespace))) {
      expect(d.dependencies).toEqual(expect.arrayContaining(policyUrns));
    }
  });
});

describe("Kyverno chart values", () => {
  const defaults = parse(fs.readFileSync(path.join(ROOT, "charts", charts.kyverno.chart, charts.kyverno.version, "values.yaml"), "utf8"));
  it.each([true, false])("use only keys of the pinned chart (production %s)", (production) => {
    expect(unknownValueKeys(kyvernoValues(production), defaults)).toEqual([]);
  });
  it("run HA in prod: 3 admission replicas, 2 of each other controller, PDBs", () => {
    // The chart renders each controller's PDB because it has more than one replica; dev (one replica) sets none.
    const v = kyvernoValues(true) as any;
    expect(v.admissionController).toMatchObject({ replicas: 3, podDisruptionBudget: { minAvailable: 1 } });
    for (const c of ["backgroundController", "cleanupController", "reportsController"]) expect(v[c]).toMatchObject({ replicas: 2, podDisruptionBudget: { minAvailable: 1 } });
    const dev = kyvernoValues(false) as any;
    for (const c of ["admissionController", "backgroundController", "cleanupController", "reportsController"]) expect(dev[c]).toMatchObject({ replicas: 1 });
    expect(dev.admissionController.podDisruptionBudget).toBeUndefined();
  });
});

describe("admission policies (pure)", () => {
  const sec = platformConfigOf(readStackConfig("prod")).security;
  it("checks digests only when required, and skips signature verification when no signer is configured", () => {
    const names = (objs: ReturnType<typeof admissionPolicies>) => objs.flatMap((o: any) => o.spec.rules.map((r: any) => `${o.metadata.name}/${r.name}`));
    expect(names(admissionPolicies(sec, ["apps"]))).toEqual(["pod-security/pod-security-restricted", "image-registries/allowed-registries", "image-registries/pinned-by-digest", "verify-images/signed-with-provenance-and-sbom"]);
    const { signing: _signing, ...unsigned } = sec;
    expect(names(admissionPolicies({ ...unsigned, requireDigest: false }, ["apps"]))).toEqual(["pod-security/pod-security-restricted", "image-registries/allowed-registries"]);
    // Without application namespaces no rule may name an empty namespace list: Kyverno reads it as every namespace.
    expect(names(admissionPolicies(sec, []))).toEqual(["pod-security/pod-security-restricted"]);
  });
  it("checks every container list, the optional ones only when present", () => {
    const reg = admissionPolicies(sec, ["apps"]).find((o) => o.metadata.name === "image-registries") as any;
    const [allowed, digest] = reg.spec.rules.map((r: any) => r.validate.pattern.spec);
    expect(allowed).toEqual({ containers: [{ image: "ghcr.io/acme-shop/*" }], "=(initContainers)": [{ image: "ghcr.io/acme-shop/*" }], "=(ephemeralContainers)": [{ image: "ghcr.io/acme-shop/*" }] });
    expect(digest.containers).toEqual([{ image: "*@sha256:*" }]);
    expect(Object.keys(digest)).toEqual(["containers", "=(initContainers)", "=(ephemeralContainers)"]);
  });

  it("accepts a public key instead of a keyless identity", () => {
    const key = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----";
    const vp = admissionPolicies({ ...sec, signing: { publicKey: key } }, ["apps"]).find((o) => o.metadata.name === "verify-images") as any;
    expect(vp.spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.publicKeys).toBe(key);
    expect(crds.validate(vp)).toEqual({ ok: true, errors: [], celNotEvaluated: [] });
  });
});

describe("policy pack exemptions", () => {
  const ex = [{ namespace: "discovery", name: "etcd-auth-*", reason: "generated name with a content hash" }, { namespace: "nats", name: "nats", container: "box", reason: "one container only, for a test" }];
  it("match a name prefix only with a trailing *, and a container only when given", () => {
    expect(exemptionFor(ex, "discovery", "etcd-auth-af2ead91")).toBe(ex[0]);
    expect(exemptionFor(ex, "discovery", "etcd-authx")).toBeUndefined();
    expect(exemptionFor(ex, "apps", "etcd-auth-af2ead91")).toBeUndefined();
    expect(exemptionFor(ex, "nats", "nats", "box")).toBe(ex[1]);
    expect(exemptionFor(ex, "nats", "nats", "other")).toBeUndefined();
    expect(exemptionFor(ex, "nats", "nats-x", "box")).toBeUndefined();
  });
});
