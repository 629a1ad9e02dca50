/**
 * The SDK floor: the custom resources our render registered, replayed as plain @pulumi/kubernetes
 * objects registered one by one under the same mocks (render/harness.ts runProgram): same types,
 * names and inputs, no components, no parents, no dependsOn, no Outputs between them. What is left
 * is what the Node SDK itself costs per registration; ours ÷ floor is what our components add.
 *
 * "One by one" literally: one registration per turn of the event loop, through the same pacing
 * the program uses (components/core/pacing.ts), so the floor pays no more in-flight memory than
 * the program does. `atOnce` registers them all in one synchronous pass instead, as a plain
 * program would (and as ours did before pacing): the floor of the first benchmark run.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { paced, settled } from "../components/core/pacing";
import { isSecretMarker, RecordedResource, runProgram } from "../render/harness";
import { PROJECT } from "../render/stack";

/** The registrations a render recorded, as JSON (inputs keep Pulumi's secret markers). */
export type Dumped = RecordedResource[];

export function dumpRun(resources: readonly RecordedResource[]): Dumped {
  return [...resources];
}

/** Secret markers back into secret Outputs, as our program passes them. */
function rewrap(v: unknown): unknown {
  if (isSecretMarker(v)) return pulumi.secret(v.value);
  if (Array.isArray(v)) return v.map(rewrap);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrap(x)]));
  return v;
}

/** Any other custom resource (random, tls) by its type token. */
class Raw extends pulumi.CustomResource {
  constructor(type: string, name: string, inputs: pulumi.Inputs) {
    super(type, name, inputs);
  }
}

type Ctor = new (name: string, args: any) => pulumi.CustomResource;

/** The @pulumi/kubernetes class for a type token such as `kubernetes:apps/v1:Deployment`, if it has one. */
export function kubernetesClass(type: string): Ctor | undefined {
  const m = /^kubernetes:([^:/]+)\/([^:/]+):(.+)$/.exec(type);
  if (!m) return undefined;
  const [, group, version, kind] = m as unknown as [string, string, string, string];
  if (group === "helm.sh") return k8s.helm.v3.Release as unknown as Ctor;
  // Built-in API groups are "core", "apps", ... or "<name>.k8s.io"; anything else is a custom resource.
  const builtin = !group.includes(".") || group.endsWith(".k8s.io");
  const cls = builtin ? (k8s as any)[group.split(".")[0]!]?.[version]?.[kind] : undefined;
  return (cls as Ctor | undefined) ?? (k8s.apiextensions.CustomResource as unknown as Ctor);
}

/**
 * The ConfigGroup lever, as a prototype over the same registrations: each component's plain
 * Kubernetes objects registered as one `kubernetes.yaml.v2.ConfigGroup` (`objs`), which the
 * provider expands into the individual objects on deploy (so previews and policies still see
 * each one); Helm releases and tls/random resources stay individual resources. Returns how many
 * registrations that makes. Dependencies are left out, as in the floor.
 */
export async function replayGrouped(stack: string, dumped: Dumped): Promise<number> {
  const byUrn = new Map(dumped.map((r) => [r.urn, r]));
  const platform = dumped.find((r) => r.type === "platform:index:Platform")?.urn;
  const component = (r: RecordedResource): string => {
    let cur: RecordedResource | undefined = r;
    while (cur && cur.parent !== platform) cur = cur.parent ? byUrn.get(cur.parent) : undefined;
    return cur?.name ?? "stack";
  };
  const groups = new Map<string, RecordedResource[]>();
  const single: RecordedResource[] = [];
  for (const r of dumped.filter((x) => x.custom)) {
    if (r.type.startsWith("kubernetes:") && r.type !== "kubernetes:helm.sh/v3:Release") {
      const c = component(r);
      if (!groups.has(c)) groups.set(c, []);
      groups.get(c)!.push(r);
    } else single.push(r);
  }
  let n = 0;
  await runProgram({
    project: PROJECT,
    stack,
    config: {},
    program: async () => {
      // Paced like the floor: one group or resource per turn.
      for (const [c, rs] of groups) {
        void paced(() => new k8s.yaml.v2.ConfigGroup(c, { objs: rs.map((r) => rewrap(r.inputs)) as pulumi.Input<any>[] }));
        n++;
      }
      single.forEach((r, i) => {
        void paced(() => {
          const cls = kubernetesClass(r.type);
          if (cls) new cls(`${r.name}-${i}`, rewrap(r.inputs));
          else new Raw(r.type, `${r.name}-${i}`, rewrap(r.inputs) as pulumi.Inputs);
        });
        n++;
      });
      await settled();
      return {};
    },
  });
  return n;
}

/**
 * Registers every custom resource of `dumped` once, with no component around it, one per turn
 * (or all at once with `atOnce`); returns how many.
 */
export async function replayFloor(stack: string, dumped: Dumped, atOnce = false): Promise<number> {
  const customs = dumped.filter((r) => r.custom);
  const seen = new Set<string>();
  const register = (r: RecordedResource, i: number) => {
    // Without parents two registrations may share type and name; URNs must stay unique.
    const name = seen.has(`${r.type}::${r.name}`) ? `${r.name}-${i}` : r.name;
    seen.add(`${r.type}::${name}`);
    const inputs = rewrap(r.inputs);
    const cls = kubernetesClass(r.type);
    if (cls) new cls(name, inputs);
    else new Raw(r.type, name, inputs as pulumi.Inputs);
  };
  await runProgram({
    project: PROJECT,
    stack,
    config: {},
    program: async () => {
      customs.forEach((r, i) => (atOnce ? register(r, i) : void paced(() => register(r, i))));
      await settled();
      return {};
    },
  });
  return customs.length;
}
