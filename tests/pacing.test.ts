import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { paced, PacedComponent, settled } from "../components/core/pacing";
import { definePlatform } from "../program";
import { runProgram } from "../render/harness";
import { readStackConfig } from "../render/stack";

/** Two ConfigMaps, built a turn after construction. */
class Pair extends PacedComponent<{ first: pulumi.Output<string> }> {
  public readonly first: pulumi.Output<string>;
  constructor(name: string, log: string[], opts?: pulumi.ComponentResourceOptions) {
    super("test:index:Pair", name, opts);
    log.push(`construct ${name}`);
    this.first = this.built("first") as pulumi.Output<string>;
    // b is an item of its own, built in the turn after the component's build.
    void this.item(() => {
      log.push(`item ${name}`);
      return new k8s.core.v1.ConfigMap(`${name}-b`, { metadata: { name: `${name}-b` } }, { parent: this });
    });
    this.later(() => {
      log.push(`build ${name}`);
      const a = new k8s.core.v1.ConfigMap(`${name}-a`, { metadata: { name: `${name}-a` } }, { parent: this });
      return { first: a.metadata.name };
    });
  }
}

describe("registration pacing (components/core/pacing.ts)", () => {
  it("builds each paced item in a later turn, in the order they were queued, nested items included", async () => {
    const log: string[] = [];
    const a = paced(() => {
      log.push("a");
      void paced(() => log.push("a.1"));
    });
    void paced(() => log.push("b"));
    log.push("sync");
    expect(log).toEqual(["sync"]);
    await a;
    expect(log).toEqual(["sync", "a"]);
    await settled();
    expect(log).toEqual(["sync", "a", "b", "a.1"]);
  });

  it("settled() reports the first error a build threw, once", async () => {
    const failing = paced(() => {
      throw new Error("platform:services.x: broken");
    });
    await expect(failing).rejects.toThrow("broken");
    await settled();
    // A PacedComponent's failure is kept for settled(), not left as an unhandled rejection.
    class Broken extends PacedComponent<Record<string, never>> {
      constructor() {
        super("test:index:Broken", "broken");
        this.later(() => {
          throw new Error("cannot build");
        });
      }
    }
    await expect(runProgram({ project: "p", stack: "s", config: {}, program: () => void new Broken() })).rejects.toThrow("cannot build");
    await expect(settled()).resolves.toBeUndefined();
  });

  it("a component is constructed at once; its children come a turn later, and dependsOn on it waits for them", async () => {
    const log: string[] = [];
    let dependent: pulumi.Resource | undefined;
    const run = await runProgram({
      project: "p",
      stack: "s",
      config: {},
      program: () => {
        const pair = new Pair("pair", log);
        log.push("constructed");
        dependent = new k8s.core.v1.ConfigMap("after", { metadata: { name: "after" }, data: { first: pair.first } }, { dependsOn: [pair] });
      },
    });
    expect(log).toEqual(["construct pair", "constructed", "build pair", "item pair"]);
    const urn = (name: string) => run.resources.find((r) => r.name === name)!.urn;
    const after = run.resources.find((r) => r.name === "after")!;
    expect(after.dependencies).toEqual(expect.arrayContaining([urn("pair-a"), urn("pair-b")]));
    // The built Output carries its resource: a data edge, as if the field had been set directly.
    expect(after.propertyDependencies?.["data"]).toEqual([urn("pair-a")]);
    expect((after.inputs as any).data.first).toBe("pair-a");
    expect(run.resources.find((r) => r.name === "pair")!.type).toBe("test:index:Pair");
    expect(dependent).toBeDefined();
  });

  it("definePlatform resolves only after every resource of the stack was constructed (pulumi up must see them all)", async () => {
    let constructed = 0;
    let atResolve = -1;
    const config = readStackConfig("prod");
    const run = await runProgram({
      project: "platform",
      stack: "prod",
      config,
      program: async () => {
        // Stack transformations run synchronously in every resource's constructor.
        pulumi.runtime.registerStackTransformation(() => {
          constructed++;
          return undefined;
        });
        const outputs = await definePlatform();
        atResolve = constructed;
        return outputs;
      },
    });
    // Everything but the stack resource itself, which exists before the transformation.
    expect(atResolve).toBe(run.resources.length - 1);
    expect(run.resources.filter((r) => r.type === "platform:workloads:Microservice").length).toBeGreaterThan(0);
  });

  it("keeps the SDK from shutting down while items are queued (its keep-alive exists in the pinned SDK)", () => {
    const settings = require("@pulumi/pulumi/runtime/settings") as { rpcKeepAlive?: unknown };
    expect(typeof settings.rpcKeepAlive).toBe("function");
  });
});
