/**
 * Telemetry identity, on the real collector: the agent's OTLP identity processors, exactly as
 * agentConfig() builds them, run in the OpenTelemetry Collector's own components (otelcol-identity,
 * built by scripts/install-tools.sh at the platform image's release) against a real API server
 * (e2e/cluster.ts) that holds the pods. Spans and logs are sent over OTLP/HTTP from the pods'
 * addresses (loopback aliases) with forged resource attributes; what the collector exports is read
 * back from its file exporter.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { agentConfig, OTLP_IDENTITY_PROCESSORS } from "../components/observability/otel-collector";
import { LABEL_SERVICE } from "../components/shared/labels";
import { controlPlaneTools, LocalCluster, startCluster } from "../e2e/cluster";
import { findTool } from "../render/tools";

const collectorBin = findTool("otelcol-identity", "PLATFORM_OTELCOL_IDENTITY");
if (!collectorBin) throw new Error("not installed: otelcol-identity (run `bash scripts/install-tools.sh`, which builds it from the Go module proxy with the OpenTelemetry Collector Builder); this test needs it");
const cp = controlPlaneTools();
if ("missing" in cp) throw new Error(`not installed: ${cp.missing.join(", ")} (run \`bash scripts/install-tools.sh\`); this test needs a local API server`);

type Attrs = Record<string, string>;
const NODE = "node-a";
// Each pod's address is a loopback alias the test connects from.
const PODS = [
  { name: "order-7d9", ip: "127.0.0.1", labels: { [LABEL_SERVICE]: "order-service" } },
  { name: "payment-5c1", ip: "10.9.9.9", labels: { [LABEL_SERVICE]: "payment-service" } },
  { name: "waypoint-6f2", ip: "127.0.0.2", labels: { "gateway.networking.k8s.io/gateway-name": "waypoint" } },
];

let cluster: LocalCluster;
const uid: Record<string, string> = {};
const procs: ChildProcess[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "telemetry-identity-"));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

beforeAll(async () => {
  cluster = await startCluster({ dir: path.join(dir, "cluster") });
  const api = cluster.client;
  await api.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "apps" } });
  // The controller-manager makes the default ServiceAccount; the pods need it to exist.
  for (let i = 0; i < 100 && (await api.request("GET", "/api/v1/namespaces/apps/serviceaccounts/default")).status !== 200; i++) await new Promise((r) => setTimeout(r, 200));
  for (const p of PODS) {
    const created = await api.request("POST", "/api/v1/namespaces/apps/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: p.name, labels: p.labels },
      spec: { nodeName: NODE, automountServiceAccountToken: false, containers: [{ name: "app", image: "example.invalid/app:1" }] },
    });
    if (created.status !== 201) throw new Error(`pod ${p.name}: ${created.status} ${JSON.stringify(created.body)}`);
    uid[p.name] = (created.body as any).metadata.uid;
    // No kubelet runs: the pod's address is set the way the kubelet reports it.
    const st = await api.request("PATCH", `/api/v1/namespaces/apps/pods/${p.name}/status`, { status: { phase: "Running", podIP: p.ip, podIPs: [{ ip: p.ip }] } }, "application/merge-patch+json");
    if (st.status !== 200) throw new Error(`pod ${p.name} status: ${st.status}`);
  }
}, 180_000);

afterAll(async () => {
  for (const p of procs) p.kill("SIGTERM");
  await cluster?.stop();
});

/** Runs the collector with these OTLP processors, sends each request, and returns the exported resources in order. */
async function collect(processors: readonly string[], sends: { from: string; attrs: Attrs }[]): Promise<Attrs[]> {
  const agent = agentConfig("otel-gateway.observability.svc.cluster.local", { samplingPercent: 100, slowTraceMs: 300, redactAttributes: [], redactPatterns: [] });
  const port = await freePort();
  const out = path.join(dir, `out-${port}.json`);
  const config = {
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${port}` } } } },
    // What runs in the agent, but for the API server it reads: the test's, through a kubeconfig.
    processors: Object.fromEntries(processors.map((p) => [p, p.startsWith("k8s_attributes") ? { ...agent.processors[p], auth_type: "kubeConfig", wait_for_metadata: true, wait_for_metadata_timeout: "60s" } : agent.processors[p]])),
    exporters: { file: { path: out, flush_interval: "100ms" } },
    service: {
      telemetry: { logs: { level: "warn" }, metrics: { level: "none" } },
      // Metrics run the same processors (built and validated here; the spans and logs are what is read back).
      pipelines: Object.fromEntries(["traces", "logs", "metrics"].map((k) => [k, { receivers: ["otlp"], processors: [...processors], exporters: ["file"] }])),
    },
  };
  const cfgFile = path.join(dir, `config-${port}.json`);
  fs.writeFileSync(cfgFile, JSON.stringify(config));
  const log = fs.openSync(path.join(dir, `collector-${port}.log`), "w");
  const proc = spawn(collectorBin!, ["--config", `file:${cfgFile}`], { env: { ...process.env, KUBECONFIG: path.join(cluster.dir, "kubeconfig"), OTEL_K8S_NODE_NAME: NODE }, stdio: ["ignore", log, log] });
  procs.push(proc);
  try {
    const post = (from: string, kind: "traces" | "logs", attrs: Attrs) =>
      new Promise<number>((resolve, reject) => {
        const resource = { attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: v } })) };
        const body =
          kind === "traces"
            ? { resourceSpans: [{ resource, scopeSpans: [{ scope: { name: "t" }, spans: [{ traceId: "5b8efff798038103d269b633813fc60c", spanId: "eee19b7ec3c1b174", name: "charge", kind: 2, startTimeUnixNano: "1764777600000000000", endTimeUnixNano: "1764777601000000000" }] }] }] }
            : { resourceLogs: [{ resource, scopeLogs: [{ scope: { name: "t" }, logRecords: [{ timeUnixNano: "1764777600000000000", body: { stringValue: "charged" } }] }] }] };
        const data = Buffer.from(JSON.stringify(body));
        const req = http.request({ host: "127.0.0.1", port, path: `/v1/${kind}`, method: "POST", localAddress: from, headers: { "content-type": "application/json", "content-length": data.length } }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end(data);
      });
    // The receiver listens once the processors have their metadata (wait_for_metadata).
    for (let i = 0; ; i++) {
      const up = await new Promise<boolean>((r) => net.connect(port, "127.0.0.1").on("connect", function (this: net.Socket) { this.destroy(); r(true); }).on("error", () => r(false)));
      if (up) break;
      if (i > 600 || proc.exitCode !== null) throw new Error(`the collector did not start:\n${fs.readFileSync(path.join(dir, `collector-${port}.log`), "utf8")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const expected: number[] = [];
    for (const s of sends) {
      for (const kind of ["traces", "logs"] as const) {
        const status = await post(s.from, kind, s.attrs);
        if (status !== 200) throw new Error(`OTLP ${kind} from ${s.from}: HTTP ${status}`);
        expected.push(1);
        // One request at a time, so the file lists them in order.
        for (let i = 0; i < 200; i++) {
          const lines = fs.existsSync(out) ? fs.readFileSync(out, "utf8").trim().split("\n").filter(Boolean).length : 0;
          if (lines >= expected.length) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
    const lines = fs.readFileSync(out, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    return lines.map((l) => {
      const r = (l.resourceSpans ?? l.resourceLogs)[0].resource;
      return Object.fromEntries((r.attributes ?? []).map((a: any) => [a.key, a.value.stringValue]));
    });
  } finally {
    proc.kill("SIGTERM");
    await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once("exit", r)));
  }
}

/** The payment pod's identity, as a forger would claim it. */
const forged = (): Attrs => ({ "service.name": "payment-service", "k8s.pod.uid": uid["payment-5c1"]!, "k8s.pod.ip": "10.9.9.9", "k8s.pod.name": "payment-5c1", "k8s.namespace.name": "apps", "platform.service": "payment-service" });
const pick = (a: Attrs) => ({ service: a["service.name"], pod: a["k8s.pod.name"], uid: a["k8s.pod.uid"], ip: a["k8s.pod.ip"], stray: a["platform.service"] });

describe("the collector agent's OTLP identity, on the real collector", () => {
  it("stamps the connection's pod and its service on spans and logs, whatever the sender claims", async () => {
    const got = await collect(OTLP_IDENTITY_PROCESSORS, [
      // The order pod forges the payment pod's whole identity.
      { from: "127.0.0.1", attrs: forged() },
      // An SDK default name is replaced as well.
      { from: "127.0.0.1", attrs: { "service.name": "unknown_service:node" } },
      // A waypoint (no platform.io/service label) keeps the name it sends, under its own pod.
      { from: "127.0.0.2", attrs: { ...forged(), "service.name": "waypoint.apps" } },
      // An address no pod has: never the claimed name.
      { from: "127.0.0.3", attrs: forged() },
    ]);
    const order = { service: "order-service", pod: "order-7d9", uid: uid["order-7d9"], ip: undefined, stray: undefined };
    expect(got.map(pick)).toEqual([
      order, order,
      order, order,
      { service: "waypoint.apps", pod: "waypoint-6f2", uid: uid["waypoint-6f2"], ip: undefined, stray: undefined },
      { service: "waypoint.apps", pod: "waypoint-6f2", uid: uid["waypoint-6f2"], ip: undefined, stray: undefined },
      { service: "unattributed", pod: undefined, uid: undefined, ip: undefined, stray: undefined },
      { service: "unattributed", pod: undefined, uid: undefined, ip: undefined, stray: undefined },
    ]);
  }, 120_000);

  it("without the identity transform, the claimed service.name survives (k8s_attributes fills only what is missing)", async () => {
    const got = await collect(OTLP_IDENTITY_PROCESSORS.filter((p) => p !== "transform/identity"), [{ from: "127.0.0.1", attrs: forged() }]);
    expect(got.map(pick)[0]).toMatchObject({ service: "payment-service", pod: "order-7d9" });
  }, 120_000);
});
