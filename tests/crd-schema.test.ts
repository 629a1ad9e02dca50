import { CRD_DIR, CrdValidator, goPatternToJs, toJsonSchema } from "./support/crd-schema";

describe("CRD schema validation (strict, as the API server validates)", () => {
  const v = new CrdValidator(CRD_DIR);
  const route = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "orders", namespace: "apps" },
    spec: {
      parentRefs: [{ name: "platform", namespace: "gateway", sectionName: "https" }],
      hostnames: ["api.shop.example.com"],
      rules: [{ matches: [{ path: { type: "PathPrefix", value: "/orders" } }], backendRefs: [{ name: "order-service", port: 8080, weight: 90 }] }],
    },
  };

  it("loads the served versions of the pinned Gateway API CRDs", () => {
    expect(v.kinds).toEqual(expect.arrayContaining(["gateway.networking.k8s.io/v1/HTTPRoute", "gateway.networking.k8s.io/v1/GRPCRoute", "gateway.networking.k8s.io/v1/Gateway", "gateway.networking.k8s.io/v1/GatewayClass"]));
  });

  it("accepts a valid HTTPRoute", () => {
    expect(v.validate(route)).toEqual({ ok: true, errors: [], celNotEvaluated: [] });
  });

  it("evaluates the CRDs' CEL rules: a Service backend without a port, a path that does not start with /, two identical parentRefs", () => {
    const noPort = JSON.parse(JSON.stringify(route));
    delete noPort.spec.rules[0].backendRefs[0].port;
    expect(v.validate(noPort)).toMatchObject({ ok: false, errors: [expect.stringMatching(/backendRefs\/0 Must have port for Service reference/)] });
    const dupParents = JSON.parse(JSON.stringify(route));
    dupParents.spec.parentRefs.push({ ...dupParents.spec.parentRefs[0] });
    expect(v.validate(dupParents).ok).toBe(false);
    expect(v.validate(dupParents).errors.join("\n")).toMatch(/parentRefs/);
    const badPath = JSON.parse(JSON.stringify(route));
    badPath.spec.rules[0].matches[0].path.value = "orders";
    expect(v.validate(badPath).ok).toBe(false);
    // A valid route leaves no rule unevaluated.
    expect(v.validate(route).celNotEvaluated).toEqual([]);
  });

  it("rejects an unknown field, a wrong enum and a wrong type", () => {
    const bad = JSON.parse(JSON.stringify(route));
    bad.spec.rules[0].backendRefs[0].wieght = 10;
    bad.spec.rules[0].matches[0].path.type = "Prefix";
    bad.spec.rules[0].backendRefs[0].port = "http";
    const r = v.validate(bad);
    expect(r.ok).toBe(false);
    expect(r.errors.join("\n")).toMatch(/backendRefs\/0 must NOT have additional properties: wieght/);
    expect(r.errors.join("\n")).toMatch(/path\/type must be equal to one of the allowed values/);
    expect(r.errors.join("\n")).toMatch(/backendRefs\/0\/port must be integer/);
  });

  it("reports a kind it has no CRD for", () => {
    expect(v.validate({ apiVersion: "example.com/v1", kind: "Widget" }).ok).toBe(false);
  });

  it("translates int-or-string and preserve-unknown-fields", () => {
    const s = toJsonSchema({
      type: "object",
      properties: {
        port: { "x-kubernetes-int-or-string": true },
        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true, properties: { a: { type: "string" } } },
      },
    });
    expect((s["properties"] as any).port).toEqual({ anyOf: [{ type: "integer" }, { type: "string" }] });
    expect((s["properties"] as any).free.additionalProperties).toBeUndefined();
    expect(s["additionalProperties"]).toBe(false);
  });
});

describe("Go RE2 patterns in CRDs", () => {
  it("turns a leading (?i) into case-insensitive letter classes, as Kyverno's CRDs need", () => {
    const p = goPatternToJs("(?i)(abort|warn)?")!;
    expect(new RegExp(`^(?:${p})$`, "u").test("WaRn")).toBe(true);
    expect(new RegExp(`^(?:${p})$`, "u").test("block")).toBe(false);
  });
  it("keeps plain patterns as they are", () => {
    expect(goPatternToJs("^[a-z]+$")).toBe("^[a-z]+$");
  });
});
