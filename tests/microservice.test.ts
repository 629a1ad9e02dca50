import * as pulumi from "@pulumi/pulumi";
import { parsePlatformConfig } from "../config/load";
import type { ServiceConfig } from "../config/schema";
import { Microservice, MicroserviceArgs } from "../components/workloads/microservice";
import { RecordedResource, runProgram } from "../render/harness";

function serviceConfig(extra: Record<string, unknown> = {}): ServiceConfig {
  const cfg = parsePlatformConfig({
    environment: "dev",
    gateway: { implementation: "envoy", hostnames: ["shop.example.com"] },
    discovery: { store: "consul", consul: { servers: 1 } },
    messaging: { kafka: { enabled: false }, nats: { replicas: 1 } },
    security: { allowedRegistries: ["ghcr.io/acme"], requireDigest: false, enforcement: "Audit" },
    services: { svc: { image: "ghcr.io/acme/svc:1.2.3", version: "1.2.3", ...extra } },
  });
  return cfg.services["svc"]!;
}

async function render(spec: ServiceConfig, over: Partial<MicroserviceArgs> = {}): Promise<RecordedResource[]> {
  const run = await runProgram({
    project: "platform",
    stack: "test",
    config: {},
    program: () => {
      new Microservice("svc", { namespace: "apps", spec, environment: "prod", otlpEndpoint: "http://otel:4317", spreadAcrossZones: false, ...over });
    },
  });
  return [...run.resources];
}

const find = (rs: RecordedResource[], type: string, name: string) => {
  const r = rs.find((x) => x.type === type && (x.inputs as any).metadata?.name === name);
  if (!r) throw new Error(`no ${type} ${name} among ${rs.map((x) => `${x.type}/${x.name}`).join(", ")}`);
  return r.inputs as any;
};

describe("Microservice outputs", () => {
  it("exposes the Service and ServiceAccount names once its objects are built a turn later (components/core/pacing.ts)", async () => {
    let names: unknown;
    let canaryName: unknown;
    await runProgram({
      project: "platform",
      stack: "test",
      config: {},
      program: () => {
        const m = new Microservice("svc", { namespace: "apps", spec: serviceConfig(), environment: "dev", otlpEndpoint: "http://otel:4317", spreadAcrossZones: false });
        pulumi.all([m.serviceName, m.serviceAccountName]).apply((v) => (names = v));
        expect(m.canaryServiceName).toBeUndefined();
        const canary = serviceConfig({ expose: { hosts: ["shop.example.com"], canary: { image: "ghcr.io/acme/svc:2.0.0", version: "2.0.0", weights: { stable: 90, canary: 10 }, replicas: 2 } } });
        new Microservice("two", { namespace: "apps", spec: canary, environment: "dev", otlpEndpoint: "http://otel:4317", spreadAcrossZones: false }).canaryServiceName!.apply((n) => (canaryName = n));
      },
    });
    expect(names).toEqual(["svc", "svc"]);
    expect(canaryName).toBe("two-canary");
  });
});

describe("Microservice defaults", () => {
  let rs: RecordedResource[];
  beforeAll(async () => {
    rs = await render(serviceConfig());
  });

  it("registers exactly a ServiceAccount, Deployment, Service, HPA and PDB, all parented to the component", () => {
    const comp = rs.find((r) => r.type === "platform:workloads:Microservice")!;
    const children = rs.filter((r) => r.parent === comp.urn).map((r) => r.type).sort();
    expect(children).toEqual([
      "kubernetes:apps/v1:Deployment",
      "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
      "kubernetes:core/v1:Service",
      "kubernetes:core/v1:ServiceAccount",
      "kubernetes:policy/v1:PodDisruptionBudget",
    ]);
  });

  it("runs restricted: non-root, no privilege escalation, all capabilities dropped, read-only root, RuntimeDefault seccomp", () => {
    const pod = find(rs, "kubernetes:apps/v1:Deployment", "svc").spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.containers[0].securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(find(rs, "kubernetes:core/v1:ServiceAccount", "svc").automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe("svc");
  });

  it("sets requests and a memory limit but no CPU limit", () => {
    const c = find(rs, "kubernetes:apps/v1:Deployment", "svc").spec.template.spec.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } });
  });

  it("probes readiness and liveness over HTTP on the named port", () => {
    const c = find(rs, "kubernetes:apps/v1:Deployment", "svc").spec.template.spec.containers[0];
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/livez", port: "http" });
    expect(c.ports).toEqual([{ name: "http", containerPort: 8080 }]);
  });

  it("exports OTel identity: service name, endpoint over gRPC, version and environment", () => {
    const env = find(rs, "kubernetes:apps/v1:Deployment", "svc").spec.template.spec.containers[0].env;
    expect(env).toEqual(
      expect.arrayContaining([
        { name: "OTEL_SERVICE_NAME", value: "svc" },
        { name: "OTEL_EXPORTER_OTLP_ENDPOINT", value: "http://otel:4317" },
        { name: "OTEL_EXPORTER_OTLP_PROTOCOL", value: "grpc" },
        { name: "OTEL_RESOURCE_ATTRIBUTES", value: "service.version=1.2.3,deployment.environment=prod,service.namespace=apps" },
      ]),
    );
  });

  it("autoscales with autoscaling/v2 between the declared bounds and keeps a PDB", () => {
    const hpa = find(rs, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "svc");
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 6, scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "svc" } });
    expect(hpa.spec.metrics[0].resource.target).toEqual({ type: "Utilization", averageUtilization: 70 });
    const pdb = find(rs, "kubernetes:policy/v1:PodDisruptionBudget", "svc");
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { "app.kubernetes.io/name": "svc", "platform.io/track": "stable" } } });
  });

  it("spreads over nodes only, unless the cluster has zones", async () => {
    const pod = find(rs, "kubernetes:apps/v1:Deployment", "svc").spec.template.spec;
    expect(pod.topologySpreadConstraints.map((t: any) => t.topologyKey)).toEqual(["kubernetes.io/hostname"]);
    const zoned = await render(serviceConfig(), { spreadAcrossZones: true });
    const zpod = find(zoned, "kubernetes:apps/v1:Deployment", "svc").spec.template.spec;
    expect(zpod.topologySpreadConstraints.map((t: any) => t.topologyKey)).toEqual(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
  });

  it("selects only its own pods from the Service", () => {
    const svc = find(rs, "kubernetes:core/v1:Service", "svc");
    expect(svc.spec.selector).toEqual({ "app.kubernetes.io/name": "svc", "platform.io/track": "stable" });
    expect(svc.spec.ports).toEqual([{ name: "http", port: 8080, targetPort: "http", protocol: "TCP", appProtocol: "http" }]);
    expect(svc.spec.type).toBe("ClusterIP");
  });
});

describe("Microservice overrides", () => {
  it("mounts an API token only when asked, and sets a CPU limit only when asked", async () => {
    const rs = await render(serviceConfig({ serviceAccountToken: true, resources: { limits: { cpu: "1", memory: "1Gi" } } }));
    const pod = find(rs, "kubernetes:apps/v1:Deployment", "svc").spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.containers[0].resources.limits).toEqual({ memory: "1Gi", cpu: "1" });
  });

  it("gives gRPC services gRPC health probes and an h2c Service port", async () => {
    const rs = await render(serviceConfig({ protocol: "grpc", port: 9090 }));
    const c = find(rs, "kubernetes:apps/v1:Deployment", "svc").spec.template.spec.containers[0];
    expect(c.readinessProbe.grpc).toEqual({ port: 9090 });
    expect(c.readinessProbe.httpGet).toBeUndefined();
    expect(find(rs, "kubernetes:core/v1:Service", "svc").spec.ports[0]).toMatchObject({ name: "grpc", port: 9090, appProtocol: "kubernetes.io/h2c" });
  });

  it("gives each writable path its own emptyDir, keeping the root filesystem read-only", async () => {
    const rs = await render(serviceConfig({ writablePaths: ["/tmp", "/var/cache/app"] }));
    const pod = find(rs, "kubernetes:apps/v1:Deployment", "svc").spec.template.spec;
    expect(pod.volumes).toEqual([{ name: "writable-0", emptyDir: {} }, { name: "writable-1", emptyDir: {} }]);
    expect(pod.containers[0].volumeMounts).toEqual([{ name: "writable-0", mountPath: "/tmp" }, { name: "writable-1", mountPath: "/var/cache/app" }]);
    expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it("adds plain env and env from references", async () => {
    const rs = await render(serviceConfig({ env: { LOG_LEVEL: "debug" } }), {
      extraEnv: { STORE_PASSWORD: { secretKeyRef: { name: "store-creds", key: "password" } } },
    });
    const env = find(rs, "kubernetes:apps/v1:Deployment", "svc").spec.template.spec.containers[0].env;
    expect(env).toEqual(expect.arrayContaining([{ name: "LOG_LEVEL", value: "debug" }, { name: "STORE_PASSWORD", valueFrom: { secretKeyRef: { name: "store-creds", key: "password" } } }]));
  });

  it("runs a canary as a second Deployment and Service whose selectors do not overlap the stable ones", async () => {
    const rs = await render(
      serviceConfig({
        expose: { hosts: ["shop.example.com"], canary: { image: "ghcr.io/acme/svc:2.0.0", version: "2.0.0", weights: { stable: 90, canary: 10 }, replicas: 2 } },
      }),
    );
    const stable = find(rs, "kubernetes:apps/v1:Deployment", "svc");
    const canary = find(rs, "kubernetes:apps/v1:Deployment", "svc-canary");
    expect(canary.spec.template.spec.containers[0].image).toBe("ghcr.io/acme/svc:2.0.0");
    expect(canary.spec.replicas).toBe(2);
    expect(canary.spec.template.metadata.labels["app.kubernetes.io/version"]).toBe("2.0.0");
    expect(stable.spec.selector.matchLabels["platform.io/track"]).toBe("stable");
    expect(canary.spec.selector.matchLabels["platform.io/track"]).toBe("canary");
    expect(find(rs, "kubernetes:core/v1:Service", "svc-canary").spec.selector["platform.io/track"]).toBe("canary");
    // The canary has a fixed size: a PDB (2 replicas) but no autoscaler.
    expect(find(rs, "kubernetes:policy/v1:PodDisruptionBudget", "svc-canary").spec.maxUnavailable).toBe(1);
    expect(rs.filter((r) => r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")).toHaveLength(1);
  });
});
