/**
 * The peer: what a user could write instead with cdk8s + cdk8s-plus. Per service the objects our
 * Microservice renders (ServiceAccount, Deployment with a restricted pod, Service, autoscaling/v2
 * HPA, PodDisruptionBudget), synthesized to YAML files, one per object, as our render writes them.
 * cdk8s-plus has no PodDisruptionBudget construct, so that one is the generated L1 class.
 */
import { App, Chart, Size, YamlOutputType } from "cdk8s";
import * as kplus from "cdk8s-plus-34";
import { IntOrString, KubePodDisruptionBudget } from "cdk8s-plus-34/lib/imports/k8s";

/** Objects per service, as in our Microservice without a canary. */
export const PEER_OBJECTS_PER_SERVICE = 5;

const IMAGE = "ghcr.io/acme-shop/order-service@sha256:2c49d91560e5183d5d084ba1f3d1e038a38a8d11019c7dcb5cbf0e435f0db9c1";

/** Synthesizes `services` services into `outdir`. */
export function synthPeer(services: number, outdir: string): void {
  const app = new App({ outdir, yamlOutputType: YamlOutputType.FILE_PER_RESOURCE });
  for (let i = 0; i < services; i++) {
    const name = `service-${i}`;
    const labels = { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "platform", "app.kubernetes.io/version": "1.0.0" };
    const chart = new Chart(app, name, { namespace: "apps", labels });
    const sa = new kplus.ServiceAccount(chart, "sa", { metadata: { name }, automountToken: false });
    const deployment = new kplus.Deployment(chart, "deployment", {
      metadata: { name },
      serviceAccount: sa,
      automountServiceAccountToken: false,
      securityContext: { ensureNonRoot: true, user: 65532, group: 65532, fsGroup: 65532 },
      containers: [
        {
          name: "app",
          image: IMAGE,
          portNumber: 8080,
          envVariables: {
            OTEL_SERVICE_NAME: kplus.EnvValue.fromValue(name),
            OTEL_EXPORTER_OTLP_ENDPOINT: kplus.EnvValue.fromValue("http://otel-agent.observability.svc.cluster.local:4317"),
            OTEL_RESOURCE_ATTRIBUTES: kplus.EnvValue.fromValue("service.version=1.0.0,deployment.environment=prod,service.namespace=apps"),
          },
          resources: { cpu: { request: kplus.Cpu.millis(100) }, memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) } },
          readiness: kplus.Probe.fromHttpGet("/readyz", { port: 8080 }),
          liveness: kplus.Probe.fromHttpGet("/livez", { port: 8080 }),
          securityContext: { ensureNonRoot: true, user: 65532, group: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
        },
      ],
    });
    deployment.exposeViaService({ name, ports: [{ port: 8080, targetPort: 8080 }] });
    new kplus.HorizontalPodAutoscaler(chart, "hpa", {
      metadata: { name },
      target: deployment,
      minReplicas: 3,
      maxReplicas: 10,
      metrics: [kplus.Metric.resourceCpu(kplus.MetricTarget.averageUtilization(70))],
    });
    new KubePodDisruptionBudget(chart, "pdb", {
      metadata: { name },
      spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: { "app.kubernetes.io/name": name } } },
    });
  }
  app.synth();
}
