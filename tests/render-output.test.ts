/**
 * The render's output folder (render/write.ts): replaced only by a finished render, and only in
 * what a render writes; and the graph pictures stay drawable at scale (render/report.ts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { RenderModel } from "../render/model";
import type { ChartExpansion } from "../render/charts";
import { chartsSection, dotGraph, MAX_DRAWN_PER_TYPE, mermaidGraph } from "../render/report";
import { charts } from "../versions";
import { STAGING, writeRender } from "../render/write";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "writer-"));

/** Every file below `dir`, relative path → content. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), fs.readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return out;
}

describe("the output folder", () => {
  const model = (): RenderModel => ({ groups: [], edges: [], secrets: [], kustomizations: [], resources: [] });
  const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } };
  const group = (dir: string) => ({ name: dir, type: "t", stage: "s", dir, resources: [], objects: [configMap], dependsOn: [] });
  // The second group's folder is the first group's file: one of the two cannot be made.
  const unwritable = (): RenderModel => ({ ...model(), groups: [group("x"), group("x/configmap-a.yaml")] });

  it("is replaced by a finished render: files of components no longer rendered do not linger, files it did not write stay", async () => {
    const out = path.join(tmp(), "out");
    await writeRender({ ...model(), groups: [group("workloads-removed-service")] }, "first", out);
    expect(fs.existsSync(path.join(out, "manifests", "workloads-removed-service", "configmap-a.yaml"))).toBe(true);
    fs.writeFileSync(path.join(out, "manifests", "team-notes.md"), "ours\n");
    await writeRender(model(), "second", out);
    expect(fs.readFileSync(path.join(out, "report.md"), "utf8")).toBe("second");
    expect(fs.existsSync(path.join(out, "manifests", "workloads-removed-service"))).toBe(false);
    expect(fs.readFileSync(path.join(out, "manifests", "team-notes.md"), "utf8")).toBe("ours\n");
    expect(fs.readdirSync(path.dirname(out))).toEqual(["out"]);
  });

  it("treats a folder an older version rendered (no ledger) as its own under its entries", async () => {
    const out = path.join(tmp(), "out");
    fs.mkdirSync(path.join(out, "manifests", "workloads-removed-service"), { recursive: true });
    fs.writeFileSync(path.join(out, "manifests", "workloads-removed-service", "deployment.yaml"), "kind: Deployment\n");
    await writeRender(model(), "second", out);
    expect(fs.existsSync(path.join(out, "manifests", "workloads-removed-service"))).toBe(false);
  });

  it("fails the render when a file cannot be written, and leaves the earlier render", async () => {
    const out = path.join(tmp(), "out");
    await writeRender({ ...model(), groups: [group("y")] }, "good", out);
    const before = tree(out);
    expect(before.get("report.md")).toBe("good");
    await expect(writeRender(unwritable(), "bad", out)).rejects.toThrow(/EISDIR|EEXIST|ENOTDIR/);
    expect(tree(out)).toEqual(before);
    expect(fs.readdirSync(out)).not.toContain(STAGING);
  });

  it("has a half-written staging folder of a killed render cleared by the next render", async () => {
    const out = tmp();
    fs.mkdirSync(path.join(out, STAGING, "manifests", "workloads-half"), { recursive: true });
    fs.writeFileSync(path.join(out, STAGING, "manifests", "workloads-half", "deployment.yaml"), "kind: Deployment\n");
    await writeRender(model(), "next", out);
    expect(fs.readdirSync(out)).not.toContain(STAGING);
    expect(fs.existsSync(path.join(out, "manifests", "workloads-half"))).toBe(false);
  });

  it("is not left behind, empty, by a failed first render", async () => {
    const out = path.join(tmp(), "out");
    await expect(writeRender(unwritable(), "bad", out)).rejects.toThrow(/EISDIR|EEXIST|ENOTDIR/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it("keeps what else it holds, such as a Git repository's files", async () => {
    const out = tmp();
    fs.mkdirSync(path.join(out, ".git"));
    fs.writeFileSync(path.join(out, ".git", "HEAD"), "ref: refs/heads/main\n");
    fs.writeFileSync(path.join(out, "README.md"), "our GitOps repository\n");
    fs.writeFileSync(path.join(out, "graph.svg"), "<svg>stale</svg>");
    await writeRender(model(), "first", out);
    await writeRender(model(), "second", out);
    expect(fs.readFileSync(path.join(out, ".git", "HEAD"), "utf8")).toBe("ref: refs/heads/main\n");
    expect(fs.readFileSync(path.join(out, "README.md"), "utf8")).toBe("our GitOps repository\n");
    expect(fs.readFileSync(path.join(out, "report.md"), "utf8")).toBe("second");
    // graph.svg is the render's own: replaced by the new one, or removed where Graphviz is missing.
    expect(fs.existsSync(path.join(out, "graph.svg")) && fs.readFileSync(path.join(out, "graph.svg"), "utf8")).not.toBe("<svg>stale</svg>");
    expect(fs.readdirSync(out).sort()).toEqual(expect.arrayContaining([".git", "README.md", "flux", "report.md"]));
    expect(fs.readdirSync(out)).not.toContain(STAGING);
  });
});

describe("the graph pictures at scale", () => {
  const group = (name: string, type: string, stage: string, objects = 1) => ({
    name,
    type,
    stage,
    dir: `${stage}-${name}`,
    resources: [],
    objects: Array.from({ length: objects }, (_, i) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${name}-${i}` } })),
    dependsOn: [],
  });
  const services = Array.from({ length: MAX_DRAWN_PER_TYPE + 1 }, (_, i) => group(`svc-${i}`, "platform:workloads:Microservice", "workloads", 2));
  const model: RenderModel = {
    groups: [group("namespaces", "platform:core:Namespaces", "namespaces"), group("kafka", "platform:messaging:StrimziKafka", "messaging"), ...services],
    edges: [...services.flatMap((s) => [[s.name, "namespaces"], [s.name, "kafka"]] as [string, string][]), ["svc-1", "svc-0"], ["kafka", "namespaces"]],
    secrets: [],
    kustomizations: [],
    resources: [],
  };

  it(`draws more than ${MAX_DRAWN_PER_TYPE} components of one type in a stage as one box, with one arrow per target and none to itself`, () => {
    const mmd = mermaidGraph(model);
    expect(mmd).toContain(`workloads__platform_workloads_Microservice["${MAX_DRAWN_PER_TYPE + 1} × Microservice<br/>platform:workloads:Microservice<br/>${2 * (MAX_DRAWN_PER_TYPE + 1)} objects"]`);
    expect(mmd).not.toContain("svc_0");
    expect(mmd.split("\n").filter((l) => l.includes("-->")).sort()).toEqual([
      "  kafka --> namespaces",
      "  workloads__platform_workloads_Microservice --> kafka",
      "  workloads__platform_workloads_Microservice --> namespaces",
    ]);
    const dot = dotGraph(model);
    expect(dot).toContain(`workloads__platform_workloads_Microservice [label="${MAX_DRAWN_PER_TYPE + 1} × Microservice\\nplatform:workloads:Microservice\\n${2 * (MAX_DRAWN_PER_TYPE + 1)} objects"];`);
    expect(dot.split("\n").filter((l) => l.includes("->"))).toHaveLength(3);
  });

  it(`draws up to ${MAX_DRAWN_PER_TYPE} components of a type one box each`, () => {
    const few: RenderModel = { ...model, groups: model.groups.slice(0, -1), edges: model.edges.filter(([f, t]) => f !== `svc-${MAX_DRAWN_PER_TYPE}` && t !== `svc-${MAX_DRAWN_PER_TYPE}`) };
    const mmd = mermaidGraph(few);
    expect(mmd).toContain('svc_0["svc-0<br/>platform:workloads:Microservice<br/>2 objects"]');
    expect(mmd).toContain("  svc_1 --> svc_0");
    expect(mmd).not.toContain("×");
  });
});

describe("report.md's Charts section", () => {
  const expansion = (chart: string, version: string): ChartExpansion => ({ chart, version, source: "/cache", children: [], droppedHooks: [], unresolvedScope: [], cached: false, omittedDisabledSubcharts: [], missingSubcharts: [] });
  it("names a chart release past its announced end of life, and why it is held back", () => {
    const lines = chartsSection([{ urn: "urn:pulumi:s::p::kubernetes:helm.sh/v4:Chart::envoy-gateway", expansion: expansion(charts.envoyGateway.chart, charts.envoyGateway.version) }]);
    expect(lines).toContain(`**End of life**: gateway-helm ${charts.envoyGateway.version} (${charts.envoyGateway.appVersion}) is not patched upstream after 2026-11-08; held back because v1.9 needs Gateway API v1.6, which Istio 1.30 does not support: it moves together with Istio 1.31.`);
  });
  it("says nothing of the kind for maintained releases", () => {
    const lines = chartsSection([{ urn: "urn:pulumi:s::p::kubernetes:helm.sh/v4:Chart::traefik", expansion: expansion(charts.traefik.chart, charts.traefik.version) }]);
    expect(lines.filter((l) => l.includes("End of life"))).toEqual([]);
  });
});
