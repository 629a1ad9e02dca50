/**
 * Runs the Pulumi program in-process under Pulumi's mock runtime and records every resource
 * registration: type, name, parent, dependencies and inputs. This is what `npm run render`, the
 * tests and the benchmarks see: the same registrations `pulumi up` would send to the engine.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { settled } from "../components/core/pacing";
import { CHART_TYPE, RELEASE_TYPE, ChartExpander, ChartExpansion, ChartInputs } from "./charts";
import { isMockKey, mockCertRequest, mockLocallySignedCert, mockPrivateKey, mockSelfSignedCert } from "./mock-pki";

/** The marker Pulumi puts around a secret value on the wire (see @pulumi/pulumi runtime/rpc). */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** One registered resource, as the engine would see it. */
export interface RecordedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly parent?: string;
  /** URNs this resource waits for (explicit dependsOn and implicit input dependencies). */
  readonly dependencies: readonly string[];
  /** Input property → URNs whose outputs flow into it (the data edges; the rest of `dependencies` came from dependsOn). */
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
  /** Inputs with secrets still wrapped in Pulumi's secret marker. */
  readonly inputs: Record<string, unknown>;
}

export interface RunResult {
  readonly resources: readonly RecordedResource[];
  readonly outputs: Record<string, unknown>;
  /** Each Chart registration (by URN) and what it expanded to; empty when charts were not expanded. */
  readonly charts: readonly { readonly urn: string; readonly expansion: ChartExpansion }[];
}

export interface RunOptions {
  readonly project: string;
  readonly stack: string;
  /** Full config map, e.g. {"platform:environment": "dev"}; structured values as JSON text. */
  readonly config: Record<string, string>;
  /** The program; its return value becomes the stack outputs. */
  readonly program: () => unknown;
  /** Called for each registration as it happens (also when the program later fails). */
  readonly onRegister?: (r: RecordedResource) => void;
  /**
   * Keep the SDK's stack traces (default false). The SDK records a full stack trace per resource
   * (its source position for the engine) and one per promise (leak diagnostics), formatted through
   * ts-node's source maps; the mock monitor ignores both, and they were most of the render's time
   * and memory (docs/benchmarks.md). Bounded only while the program runs here, never under `pulumi up`.
   */
  readonly stackTraces?: boolean;
  /**
   * Expands every `kubernetes:helm.sh/v4:Chart` into its objects as the Kubernetes provider does
   * (render/charts.ts), recorded as the Chart's children with their real types. Without it a Chart
   * stays one opaque registration (tests of single components).
   */
  readonly charts?: ChartExpander;
}

/**
 * V8 flags of the processes that render (`npm run render`, `npm run audit`, and every benchmark
 * child, floor included). The SDK allocates many short-lived promises per registration: with 64 MiB
 * semi-spaces (default 16) they die young instead of being copied and promoted, which took a
 * quarter off the program's time at N = 1000 (docs/benchmarks.md) for ~150 MiB more young space.
 * package.json's scripts spell the same flags (tests/bench.test.ts checks).
 */
export const RENDER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=64"];

/** Turns the SDK's stack-trace capture off until the returned function restores it. */
function boundStackTraces(): () => void {
  const resource = pulumi.Resource as unknown as { callsites: () => unknown[] };
  const callsites = resource.callsites;
  const limit = Error.stackTraceLimit;
  resource.callsites = () => [];
  Error.stackTraceLimit = 0;
  return () => {
    resource.callsites = callsites;
    Error.stackTraceLimit = limit;
  };
}

type Req = {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (deps: { getUrnsList(): string[] }, key: string) => void): void };
  getObject(): unknown;
};
type Monitor = { registerResource(req: Req, cb: (err: unknown, resp?: { getUrn(): string }) => void): void };

// @internal in the SDK's typings, present in its runtime: waits until every queued RPC completed.
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
const rpc = require("@pulumi/pulumi/runtime/rpc") as { deserializeProperties(o: unknown): Record<string, unknown> };

/** Deterministic fake values for provider-computed outputs, so renders are reproducible. */
function fakeState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const h = (s: string) => createHash("sha256").update(`${type}/${name}/${s}`).digest("hex");
  // Key inputs arrive as secrets; the provider computes from their values.
  const plain = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, isSecretMarker(v) ? v.value : v]));
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
    case "random:index/randomString:RandomString":
      return { ...inputs, result: `mock-${h("result").slice(0, Number(inputs["length"] ?? 24))}` };
    case "random:index/randomUuid:RandomUuid": {
      const x = h("uuid");
      return { ...inputs, result: `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-8${x.slice(17, 20)}-${x.slice(20, 32)}` };
    }
    case "random:index/randomBytes:RandomBytes":
      return { ...inputs, base64: Buffer.from(h("bytes"), "hex").toString("base64"), hex: h("bytes") };
    // ECDSA keys and the certificates they sign are real (render/mock-pki.ts); other algorithms
    // keep opaque placeholders (the render does not use them).
    case "tls:index/privateKey:PrivateKey": {
      const curve = inputs["algorithm"] === "ECDSA" ? (inputs["ecdsaCurve"] ?? "P224") : undefined;
      if (curve === "P256" || curve === "P384") return { ...inputs, ...mockPrivateKey(`${type}/${name}`, curve) };
      return { ...inputs, privateKeyPem: `-----BEGIN MOCK PRIVATE KEY ${h("key").slice(0, 16)}-----`, publicKeyPem: `-----BEGIN MOCK PUBLIC KEY ${h("pub").slice(0, 16)}-----`, privateKeyPemPkcs8: `mock-pkcs8-${h("p8").slice(0, 16)}` };
    }
    case "tls:index/selfSignedCert:SelfSignedCert":
      return { ...inputs, certPem: isMockKey(plain["privateKeyPem"]) ? mockSelfSignedCert(`${type}/${name}`, plain) : `-----BEGIN MOCK CERTIFICATE ${h("cert").slice(0, 16)}-----` };
    case "tls:index/locallySignedCert:LocallySignedCert":
      return { ...inputs, certPem: isMockKey(plain["caPrivateKeyPem"]) ? mockLocallySignedCert(`${type}/${name}`, plain) : `-----BEGIN MOCK CERTIFICATE ${h("cert").slice(0, 16)}-----` };
    case "tls:index/certRequest:CertRequest":
      return { ...inputs, certRequestPem: isMockKey(plain["privateKeyPem"]) ? mockCertRequest(plain) : `-----BEGIN MOCK CSR ${h("csr").slice(0, 16)}-----` };
    default:
      return inputs;
  }
}

/** Whether a value is a Pulumi secret marker. */
export function isSecretMarker(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/**
 * Runs `program` under mocks with the given config and returns the recorded registrations.
 * Calls must not overlap: the mock runtime is process-global.
 */
export async function runProgram(opts: RunOptions): Promise<RunResult> {
  const recorded: RecordedResource[] = [];
  const expansions: Promise<{ urn: string; expansion: ChartExpansion }>[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args: pulumi.runtime.MockResourceArgs) => ({
        id: args.custom ? `${args.name}-id` : undefined,
        state: fakeState(args.type, args.name, args.inputs as Record<string, unknown>),
      }),
      call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
    },
    opts.project,
    opts.stack,
    false,
  );
  pulumi.runtime.setAllConfig(opts.config);

  const monitor = pulumi.runtime.getMonitor() as unknown as Monitor;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    register(req, (err, resp) => {
      if (!err && resp) {
        const parent = req.getParent();
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps, key) => {
          const urns = deps.getUrnsList();
          if (urns.length) propertyDependencies[key] = [...urns].sort();
        });
        const rec: RecordedResource = {
          urn: resp.getUrn(),
          type: req.getType(),
          name: req.getName(),
          custom: req.getCustom(),
          ...(parent ? { parent } : {}),
          dependencies: [...new Set(req.getDependenciesList())].sort(),
          ...(Object.keys(propertyDependencies).length ? { propertyDependencies } : {}),
          inputs: rpc.deserializeProperties(req.getObject()),
        };
        recorded.push(rec);
        opts.onRegister?.(rec);
        if (opts.charts && (rec.type === CHART_TYPE || rec.type === RELEASE_TYPE)) {
          const expansion = expandChart(opts.charts, rec, recorded, opts.onRegister);
          expansion.catch(() => undefined); // reported once the program has run (allSettled below)
          expansions.push(expansion);
        }
      }
      cb(err, resp);
    });
  };

  // A program error is caught inside the stack's init and rethrown after the RPCs drain: thrown
  // from init, the SDK would surface it as an unhandled rejection instead of a rejected promise.
  let failure: { error: unknown } | undefined;
  const restore = opts.stackTraces ? () => undefined : boundStackTraces();
  try {
    const outputs =
      (await pulumi.runtime.runInPulumiStack(async () => {
        try {
          const outputs = await opts.program();
          // Components built a turn at a time (components/core/pacing.ts), for programs that
          // construct them without awaiting settled() themselves (tests of single components).
          await settled();
          return outputs;
        } catch (error) {
          failure = { error };
          return {};
        }
      })) ?? {};
    await settings.waitForRPCs();
    // Chart expansions run beside the program; a chart that cannot be templated fails the run.
    const charts = await Promise.allSettled(expansions);
    if (failure) throw failure.error;
    const failed = charts.find((c): c is PromiseRejectedResult => c.status === "rejected");
    if (failed) throw failed.reason;
    return {
      resources: recorded,
      outputs: outputs as Record<string, unknown>,
      charts: charts.map((c) => (c as PromiseFulfilledResult<{ urn: string; expansion: ChartExpansion }>).value),
    };
  } finally {
    restore();
  }
}

/**
 * Records a Chart's objects as its children, as the provider's Construct registers them: type from
 * the object, name `<chart>:<namespace>/<name>`, parent the Chart, Secret data marked secret. Each
 * child also carries the Chart's own dependencies: Chart v4 hands the component's dependsOn to the
 * objects it registers (pulumi/pulumi-kubernetes#1773: fixed in the v2 ConfigGroup and Chart v4).
 */
async function expandChart(
  expander: ChartExpander,
  chart: RecordedResource,
  recorded: RecordedResource[],
  onRegister: RunOptions["onRegister"],
): Promise<{ urn: string; expansion: ChartExpansion }> {
  // A Helm v3 Release applies its hooks (Helm runs them); a Chart v4 does not.
  const expansion = await expander.expand(chart.name, chart.inputs as unknown as ChartInputs, { hooks: chart.type === RELEASE_TYPE });
  const [, , qualified] = chart.urn.split("::") as [string, string, string];
  const prefix = chart.urn.slice(0, chart.urn.indexOf("::", chart.urn.indexOf("::") + 2) + 2);
  const parentType = qualified.split("$").pop()!;
  const urns = expansion.children.map((c) => `${prefix}${parentType}$${c.type}::${c.name}`);
  expansion.children.forEach((c, i) => {
    const inputs: Record<string, unknown> = { ...c.object };
    if (c.type === "kubernetes:core/v1:Secret") {
      for (const k of ["data", "stringData"]) if (inputs[k] !== undefined) inputs[k] = { [SECRET_SIG_KEY]: SECRET_SIG, value: inputs[k] };
    }
    const rec: RecordedResource = {
      urn: urns[i]!,
      type: c.type,
      name: c.name,
      custom: true,
      parent: chart.urn,
      dependencies: [...new Set([...chart.dependencies, ...c.dependsOn.map((d) => urns[d]!)])].sort(),
      inputs,
    };
    recorded.push(rec);
    onRegister?.(rec);
  });
  return { urn: chart.urn, expansion };
}
