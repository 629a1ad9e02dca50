/** Scrape targets as plain data: areas describe their own, the observability area renders them. */

/** One PodMonitor, in kube-prometheus-stack's `prometheus.additionalPodMonitors` shape. */
export interface PlatformPodMonitor {
  readonly name: string;
  readonly namespaceSelector: { readonly matchNames: readonly string[] } | { readonly any: true };
  readonly selector: { readonly matchLabels: Readonly<Record<string, string>> };
  readonly podMetricsEndpoints: readonly PodMetricsEndpoint[];
}

/** By container port name, or by number where a chart declares no container port (istiod's 15014). */
export type PodMetricsEndpoint = ({ readonly port: string } | { readonly portNumber: number }) & { readonly path?: string };
