/** report.md and the dependency-graph picture, from the render model. Pure text functions. */
import { gatewayPrincipal as gatewayPrincipalOf } from "../components/gateway/routing";
import { AREAS_NOT_BUILT, INSTALL_ORDER } from "../components/install-order";
import { allowRules } from "../components/mesh/authorization";
import { serviceGraph } from "../components/service-graph";
import type { PlatformConfig } from "../config/schema";
import { groupLevels, RenderModel } from "./model";

const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");

/** Mermaid flowchart of the components; an arrow points from a component to what it waits for. */
export function mermaidGraph(model: RenderModel): string {
  const lines = ["flowchart RL"];
  for (const stage of INSTALL_ORDER) {
    const members = model.groups.filter((g) => g.stage === stage.name);
    if (!members.length) continue;
    lines.push(`  subgraph ${id("stage_" + stage.name)}["stage: ${stage.name}"]`);
    for (const g of members) lines.push(`    ${id(g.name)}["${g.name}<br/>${g.type}<br/>${g.objects.length} objects"]`);
    lines.push("  end");
  }
  for (const [from, to] of model.edges) lines.push(`  ${id(from)} --> ${id(to)}`);
  return lines.join("\n") + "\n";
}

/** The same graph in Graphviz dot, for the SVG. */
export function dotGraph(model: RenderModel): string {
  const lines = ["digraph platform {", "  rankdir=RL;", '  node [shape=box, style="rounded", fontname="Helvetica"];'];
  for (const stage of INSTALL_ORDER) {
    const members = model.groups.filter((g) => g.stage === stage.name);
    if (!members.length) continue;
    lines.push(`  subgraph cluster_${id(stage.name)} {`, `    label="stage: ${stage.name}";`);
    for (const g of members) lines.push(`    ${id(g.name)} [label="${g.name}\\n${g.type}\\n${g.objects.length} objects"];`);
    lines.push("  }");
  }
  for (const [from, to] of model.edges) lines.push(`  ${id(from)} -> ${id(to)};`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** A report section appended after the built-in ones. */
export interface ReportSection {
  readonly title: string;
  readonly body: string;
}

export interface ReportInput {
  readonly stack: string;
  readonly config: PlatformConfig;
  readonly model: RenderModel;
  /** Extra sections appended by later stages (policy verdicts, formal checks). */
  readonly sections?: readonly ReportSection[];
}

export function reportMarkdown(input: ReportInput): string {
  const { model, config } = input;
  const out: string[] = [];
  const objects = model.groups.reduce((n, g) => n + g.objects.length, 0);
  out.push(`# Platform render: stack \`${input.stack}\``, "");
  out.push(`Environment **${config.environment}**, ${Object.keys(config.services).length} services, ${model.groups.length} components, ${objects} objects written, ${model.secrets.length} secrets left out (see below).`, "");

  out.push("## Install stages", "", "| stage | contains | after | why |", "| --- | --- | --- | --- |");
  for (const s of INSTALL_ORDER) out.push(`| ${s.name} | ${s.contains} | ${s.after.join(", ") || "-"} | ${s.why} |`);
  out.push("", "Deploy waves (components in one wave are independent and deploy in parallel):", "");
  groupLevels(model).forEach((lvl, i) => out.push(`${i + 1}. ${lvl.join(", ")}`));
  out.push("");

  out.push("## Objects per component and kind", "", "| component | stage | kind | count |", "| --- | --- | --- | --- |");
  for (const g of model.groups) {
    const kinds = new Map<string, number>();
    for (const o of g.objects) kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
    for (const [k, n] of [...kinds].sort()) out.push(`| ${g.name} | ${g.stage} | ${k} | ${n} |`);
  }
  out.push("");

  out.push("## Secrets (references only)", "");
  if (!model.secrets.length) out.push("None.");
  else {
    out.push("| namespace | name | keys | how to supply |", "| --- | --- | --- | --- |");
    for (const s of model.secrets) out.push(`| ${s.namespace} | ${s.name} | ${s.keys.join(", ")} | ${s.howToSupply} |`);
  }
  out.push("");

  out.push("## Service-to-service authorization", "");
  if (!config.mesh.enabled) {
    out.push("The mesh is off for this stack (`mesh.enabled: false`): **no mTLS and no service-to-service authorization**. Any pod can call any service.");
  } else {
    const graph = serviceGraph(config);
    const gatewayPrincipal = gatewayPrincipalOf(config);
    const rules = allowRules(graph, { trustDomain: config.cluster.domain, ...(gatewayPrincipal ? { gatewayPrincipal } : {}) });
    out.push(
      "Mesh-wide STRICT mTLS; every application namespace denies by default. The only allowed calls, derived from the declarations:",
      "",
      "| caller (SPIFFE principal) | service | methods | paths | enforced at |",
      "| --- | --- | --- | --- | --- |",
    );
    for (const r of rules) out.push(`| ${r.principal} | ${r.namespace}/${r.service} | ${r.methods?.join(", ") ?? "any"} | ${r.paths?.join(", ") ?? "any"} | ${r.at} |`);
  }
  out.push("");

  if (AREAS_NOT_BUILT.length) {
    out.push("## Areas not built yet", "", "Their config is validated; none of their controllers or resources is rendered, and nothing pretends to be:", "");
    for (const a of AREAS_NOT_BUILT) out.push(`- ${a}`);
    out.push("");
  }

  for (const s of input.sections ?? []) out.push(`## ${s.title}`, "", s.body, "");
  out.push("## Files", "", "- `manifests/<component>/`: the objects, one file each", "- `flux/`: Flux Kustomizations (one per component, `dependsOn` = install order) and Helm sources/releases", "- `graph.mmd`, `graph.dot`, `graph.svg`: the component dependency graph", "");
  return out.join("\n");
}
