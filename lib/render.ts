/**
 * `microservice-platform/render`: the offline render of a team's own program, the same one this
 * repository's `npm run render` runs on its stack files. The program runs under Pulumi's mocks,
 * charts are templated with Helm from a chart cache (PLATFORM_CHART_CACHE, or `charts.cacheDirs`)
 * and everything is audited and proven; `writeRender` writes the manifests, the Flux or Argo CD
 * tree (GitOpsOptions) and the report; `previousRender` reads an earlier render for
 * RenderOptions.compare ("What changes" in the report), `callGraph` is the service call graph (calls.mmd).
 */
export { renderProgram, renderConfig } from "../render/render";
export type { Rendered, RenderOptions, RenderPhase } from "../render/render";
export { writeRender } from "../render/write";
export type { RenderExtras } from "../render/write";
export { DEFAULT_GITOPS } from "../render/gitops";
export type { GitOpsOptions } from "../render/gitops";
export { callGraph, previousRender } from "../render/compare";
export { HelmNotInstalledError, ChartNotFoundError, ChartTemplateError, MissingSubchartError } from "../render/charts";
