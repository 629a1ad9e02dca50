import * as path from "path";
import { GatewayApiCrds } from "../components/core/gateway-api-crds";
import { crdBundles } from "../versions";
import { runProgram } from "../render/harness";
import { renderConfig } from "../render/render";
import { readStackConfig, ROOT } from "../render/stack";

const dir = path.join(ROOT, crdBundles.gatewayApi.path);

describe("Gateway API CRDs install step", () => {
  it("installs the eight standard-channel CRDs of the pinned bundle and the safe-upgrades policy with its binding", async () => {
    const run = await runProgram({ project: "platform", stack: "t", config: {}, program: () => new GatewayApiCrds("gwapi", { dir, version: "v1.5.1" }) });
    const crds = run.resources.filter((r) => r.type === "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition").map((r) => r.inputs as any);
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([
      "backendtlspolicies.gateway.networking.k8s.io",
      "gatewayclasses.gateway.networking.k8s.io",
      "gateways.gateway.networking.k8s.io",
      "grpcroutes.gateway.networking.k8s.io",
      "httproutes.gateway.networking.k8s.io",
      "listenersets.gateway.networking.k8s.io",
      "referencegrants.gateway.networking.k8s.io",
      "tlsroutes.gateway.networking.k8s.io",
    ]);
    for (const c of crds) {
      expect(c.metadata.annotations["gateway.networking.k8s.io/channel"]).toBe("standard");
      expect(c.metadata.annotations["gateway.networking.k8s.io/bundle-version"]).toBe("v1.5.1");
    }
    const vap = run.resources.find((r) => r.type === "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy")!.inputs as any;
    const binding = run.resources.find((r) => r.type === "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding")!.inputs as any;
    expect(vap.metadata.name).toBe("safe-upgrades.gateway.networking.k8s.io");
    expect(binding.spec).toMatchObject({ policyName: "safe-upgrades.gateway.networking.k8s.io", validationActions: ["Deny"] });
  });

  it("refuses files whose bundle version differs from the version set", async () => {
    await expect(runProgram({ project: "platform", stack: "t", config: {}, program: () => new GatewayApiCrds("gwapi", { dir, version: "v1.6.1" }) })).rejects.toThrow(/bundle-version v1\.5\.1 .* expected v1\.6\.1/);
  });

  it("is its own install stage: only the controllers that watch it (istiod, the gateway) wait for it, and it waits for nothing", async () => {
    const r = await renderConfig("dev", readStackConfig("dev"));
    expect(r.model.groups.find((g) => g.name === "gateway-api-crds")!.stage).toBe("crds");
    expect(r.model.edges.filter(([a, b]) => a === "gateway-api-crds" || b === "gateway-api-crds")).toEqual([
      ["istio", "gateway-api-crds"],
      ["traefik", "gateway-api-crds"],
    ]);
  });

  it("is absent when neither the gateway nor the mesh is enabled", async () => {
    const flat = readStackConfig("dev");
    flat["platform:gateway"] = JSON.stringify({ ...JSON.parse(flat["platform:gateway"]!), enabled: false });
    flat["platform:mesh"] = JSON.stringify({ ...JSON.parse(flat["platform:mesh"]!), enabled: false });
    const services = JSON.parse(flat["platform:services"]!);
    for (const s of Object.values<any>(services)) delete s.expose;
    flat["platform:services"] = JSON.stringify(services);
    const r = await renderConfig("dev", flat);
    expect(r.model.groups.map((g) => g.name)).not.toContain("gateway-api-crds");
    // Charts bring their own CRDs (Strimzi, Kyverno, ...); no Gateway API CRD is installed.
    expect(r.run.resources.some((x) => x.type.includes("CustomResourceDefinition") && String((x.inputs as any).spec?.group) === "gateway.networking.k8s.io")).toBe(false);
  });
});
