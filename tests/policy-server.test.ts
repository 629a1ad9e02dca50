/**
 * The harness against the real thing: starts the pack the way the Pulumi CLI does (policy/index.ts,
 * whose `new PolicyPack` serves @pulumi/policy's analyzer over gRPC and prints its port), sends it
 * the engine's Configure / Analyze / AnalyzeStack requests for the rendered prod stack and a few
 * violating objects, and checks that the in-process analyzer (audit/analyzer.ts) returns the same
 * diagnostics. This is what makes the audit, the report and the tests trustworthy stand-ins for
 * `pulumi preview --policy-pack policy`.
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { analyzeResource, analyzeStack, AnalyzedResource, plainProps } from "../audit/analyzer";
import { policies } from "../policy/policies";
import { renderStack } from "../render/render";
import { asResource, goodContainer, goodPodSpec, workload } from "./support/policy-fixtures";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const pb = require("@pulumi/pulumi/proto/analyzer_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const rpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");

const ROOT = path.resolve(__dirname, "..");
const LEVEL: Record<number, string> = { [pb.EnforcementLevel.ADVISORY]: "advisory", [pb.EnforcementLevel.MANDATORY]: "mandatory", [pb.EnforcementLevel.DISABLED]: "disabled", [pb.EnforcementLevel.REMEDIATE]: "remediate" };
const CODE: Record<string, number> = Object.fromEntries(Object.entries(LEVEL).map(([k, v]) => [v, Number(k)]));

let server: ChildProcess;
let client: any;

const call = <T>(method: string, req: unknown): Promise<T> =>
  new Promise((resolve, reject) => client[method](req, (err: Error | null, resp: T) => (err ? reject(err) : resolve(resp))));

function options(r: AnalyzedResource) {
  const o = new pb.AnalyzerResourceOptions();
  o.setProtect(false);
  if (r.parent) o.setParent(r.parent);
  return o;
}
const props = (r: AnalyzedResource) => Struct.fromJavaScript(plainProps(r.props));
const diags = (resp: any) =>
  resp.getDiagnosticsList().map((d: any) => ({ policyName: d.getPolicyname(), message: d.getMessage(), enforcementLevel: LEVEL[d.getEnforcementlevel()] })).sort(byKey);
const byKey = (a: { policyName: string; message: string }, b: { policyName: string; message: string }) => `${a.policyName}\n${a.message}`.localeCompare(`${b.policyName}\n${b.message}`);
const mine = (ds: { policyName: string; message: string; enforcementLevel: string }[]) => ds.map((d) => ({ policyName: d.policyName, message: d.message, enforcementLevel: d.enforcementLevel })).sort(byKey);

async function configure(config: Record<string, { enforcementLevel?: string } & Record<string, unknown>>): Promise<void> {
  const req = new pb.ConfigureAnalyzerRequest();
  const map = req.getPolicyconfigMap();
  for (const [name, c] of Object.entries(config)) {
    const { enforcementLevel, ...rest } = c;
    const pc = new pb.PolicyConfig();
    pc.setEnforcementlevel(CODE[enforcementLevel ?? "mandatory"]);
    pc.setProperties(Struct.fromJavaScript(rest as any));
    map.set(name, pc);
  }
  await call("configure", req);
}

/** Fills the fields AnalyzeRequest and AnalyzerResource share. */
function describeTo<T extends { setType(t: string): void; setProperties(p: unknown): void; setUrn(u: string): void; setName(n: string): void; setOptions(o: unknown): void }>(msg: T, r: AnalyzedResource): T {
  msg.setType(r.type);
  msg.setProperties(props(r));
  msg.setUrn(r.urn);
  msg.setName(r.name);
  msg.setOptions(options(r));
  return msg;
}

async function serverAnalyze(r: AnalyzedResource) {
  return diags(await call("analyze", describeTo(new pb.AnalyzeRequest(), r)));
}

async function serverAnalyzeStack(rs: readonly AnalyzedResource[]) {
  const req = new pb.AnalyzeStackRequest();
  req.setResourcesList(
    rs.map((r) => {
      const a = describeTo(new pb.AnalyzerResource(), r);
      if (r.parent) a.setParent(r.parent);
      a.setDependenciesList([...(r.dependencies ?? [])]);
      return a;
    }),
  );
  return diags(await call("analyzeStack", req));
}

beforeAll(async () => {
  // As the CLI's nodejs policy host does: run the pack's index.ts in its directory.
  server = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "index.ts"], { cwd: path.join(ROOT, "policy"), env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "policy", "tsconfig.json") }, stdio: ["ignore", "pipe", "pipe"] });
  const port = await new Promise<string>((resolve, reject) => {
    let err = "";
    server.stderr!.on("data", (d) => (err += d));
    server.stdout!.once("data", (d) => resolve(String(d).trim()));
    server.once("exit", (code) => reject(new Error(`policy pack exited ${code}: ${err}`)));
  });
  expect(port).toMatch(/^[0-9]+$/);
  client = new rpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 60000);

afterAll(() => {
  client?.close();
  server?.kill();
});

it("the served pack declares every policy of policies.ts, mandatory by default", async () => {
  const info = await call<any>("getAnalyzerInfo", new (require("google-protobuf/google/protobuf/empty_pb").Empty)());
  expect(info.getName()).toBe("platform-policies");
  expect(info.getPoliciesList().map((p: any) => p.getName())).toEqual(policies.map((p) => p.name));
  expect(new Set(info.getPoliciesList().map((p: any) => LEVEL[p.getEnforcementlevel()]))).toEqual(new Set(["mandatory"]));
});

it("Analyze: the harness returns the server's diagnostics for violating objects, with and without config", async () => {
  const bad = [
    workload("CronJob", "nightly", goodPodSpec({ initContainers: [goodContainer("init", { image: "busybox:1.36", securityContext: { privileged: true } })], hostNetwork: true })),
    workload("Deployment", "web", goodPodSpec({ containers: [goodContainer("app", { securityContext: { runAsNonRoot: false, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } })] })),
    { apiVersion: "v1", kind: "Service", metadata: { name: "lb", namespace: "apps" }, spec: { type: "LoadBalancer" } },
  ].map((o, i) => asResource(o, i));
  const configs: Record<string, { enforcementLevel?: string } & Record<string, unknown>>[] = [{}, { "pss-privileged": { enforcementLevel: "advisory" }, "pss-host-namespaces": { enforcementLevel: "disabled" }, "image-allowed-registry": { enforcementLevel: "mandatory", allowedRegistries: ["docker.io/library"] }, "pss-run-as-non-root": { enforcementLevel: "mandatory", exemptions: [{ namespace: "apps", name: "web", container: "app", reason: "legacy image being rebuilt" }] } }];
  for (const config of configs) {
    await configure(config);
    for (const r of bad) {
      const expected = await serverAnalyze(r);
      expect(expected.length).toBeGreaterThan(0);
      expect(mine((await analyzeResource(policies, r, config)).diagnostics)).toEqual(expected);
    }
  }
});

it("Analyze + AnalyzeStack: the harness returns the server's diagnostics for every resource of the rendered prod stack", async () => {
  const prod = await renderStack("prod");
  const config = require(path.join(ROOT, "policy", "stacks", "prod.json"));
  await configure(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { enforcementLevel: "mandatory", ...(v as object) }])));
  const resources: AnalyzedResource[] = prod.run.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, dependencies: r.dependencies, ...(r.parent ? { parent: r.parent } : {}) }));
  for (const r of resources) expect({ urn: r.urn, d: mine((await analyzeResource(policies, r, config)).diagnostics) }).toEqual({ urn: r.urn, d: await serverAnalyze(r) });
  const stack = await serverAnalyzeStack(resources);
  expect(stack.length).toBeGreaterThan(0);
  expect(mine((await analyzeStack(policies, resources, config)).diagnostics)).toEqual(stack);
}, 120000);
