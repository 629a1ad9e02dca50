/**
 * One access matrix, generated from the declarations, equals what the rendered objects grant:
 * the mesh's policies (evaluated for every pair of services), the KafkaUser ACLs, the NATS
 * server's users and the config store's auth Job. Checked on dev and prod and on random service
 * graphs, and broken on purpose (an object granting more than the matrix says) to see it fail.
 */
import * as fc from "fast-check";
import { accessDifferences, accessMatrix, grantedByObjects } from "../audit/running/access";
import { liveObjects } from "../audit/running";
import { allPods } from "../audit/running/pods";
import type { RecordedResource } from "../render/harness";
import { Rendered, renderConfig, renderStack } from "../render/render";
import { platformConfigOf, PROJECT, readStackConfig } from "../render/stack";
import { mutated } from "./support/mutate";
import { runProgram } from "../render/harness";
import { definePlatform } from "../program";

type Inputs = Record<string, any>;

const granted = (r: Rendered, resources: readonly RecordedResource[] = r.run.resources) => {
  const { objects, chartOf } = liveObjects(resources);
  return grantedByObjects(objects, allPods(objects, chartOf), r.config);
};


const rendered: Record<string, Rendered> = {};
beforeAll(async () => {
  rendered["dev"] = await renderStack("dev");
  rendered["prod"] = await renderStack("prod");
  const prod = readStackConfig("prod");
  rendered["prod+consul"] = await renderConfig("prod", { ...prod, "platform:discovery": JSON.stringify({ store: "consul", consul: { servers: 3, storage: "20Gi" } }) });
}, 600_000);

describe.each(["dev", "prod", "prod+consul"])("the %s access matrix", (stack) => {
  it("equals what the rendered objects grant, for every kind of access", () => {
    const r = rendered[stack]!;
    const matrix = accessMatrix(r.config);
    const g = granted(r);
    expect(accessDifferences(matrix, g)).toEqual({ extra: [], missing: [] });
    for (const kind of ["call", "kafka-produce", "kafka-consume", "nats-publish", "nats-subscribe", "kv-read", "kv-write", "store", "secret", "connect"]) expect(matrix.some((l) => l.kind === kind)).toBe(true);
    expect(r.report).toContain("## Access matrix");
    expect(r.running.findings.filter((f) => f.proof === "matrix")).toEqual([]);
  });
});

describe("an object that grants more, or less, than the matrix is caught", () => {
  const r = () => rendered["dev"]!;
  it("a mesh policy that lets a service call one it did not declare (once the NetworkPolicy, the second line, admits it too)", () => {
    const widened = mutated(r(), (o) => o["kind"] === "AuthorizationPolicy" && o["metadata"]?.name === "allow-payment-service", (o) => o["spec"]["rules"][0]["from"][0]["source"]["principals"].push("cluster.local/ns/notifications/sa/notification-service"));
    // The waypoint's NetworkPolicy still admits only the declared callers: nothing more is granted.
    expect(accessDifferences(accessMatrix(r().config), granted(r(), widened)).extra).toEqual([]);
    const res = widened.map((x) => {
      const o = x.inputs as Inputs;
      if (o?.["kind"] !== "NetworkPolicy" || o["metadata"]?.namespace !== "apps" || o["metadata"]?.name !== "allow-waypoint") return x;
      const inputs = structuredClone(o);
      inputs["spec"].ingress[0].from.push({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "notifications" } }, podSelector: { matchLabels: { "app.kubernetes.io/instance": "notification-service" } } });
      return { ...x, inputs };
    });
    expect(accessDifferences(accessMatrix(r().config), granted(r(), res)).extra).toEqual([expect.objectContaining({ service: "notification-service", kind: "call", grant: expect.stringMatching(/^payment-service /) })]);
  });
  it("a NetworkPolicy that lets a service connect to a data service it did not declare", () => {
    const res = mutated(r(), (o) => o["kind"] === "NetworkPolicy" && o["metadata"]?.namespace === "discovery" && o["metadata"]?.name === "allow-store-clients", (o) => o["spec"].ingress[0].from.push({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "notifications" } }, podSelector: {} }));
    expect(accessDifferences(accessMatrix(r().config), granted(r(), res)).extra).toEqual([{ service: "notification-service", kind: "connect", grant: "config store (etcd)" }]);
  });
  it("a call's method restriction dropped", () => {
    const res = mutated(r(), (o) => o["kind"] === "AuthorizationPolicy" && o["metadata"]?.name === "allow-user-service", (o) => {
      for (const rule of o["spec"]["rules"]) for (const t of rule["to"] ?? []) delete t["operation"]["methods"];
    });
    const d = accessDifferences(accessMatrix(r().config), granted(r(), res));
    expect(d.extra.map((x) => x.grant)).toContain("user-service any method /users");
  });
  it("a KafkaUser ACL on a topic the service does not use", () => {
    const res = mutated(r(), (o) => o["kind"] === "KafkaUser" && o["metadata"]?.name === "notification-service", (o) => o["spec"]["authorization"]["acls"].push({ resource: { type: "topic", name: "inventory.reserved", patternType: "literal" }, operations: ["Write"] }));
    expect(accessDifferences(accessMatrix(r().config), granted(r(), res)).extra).toEqual([{ service: "notification-service", kind: "kafka-produce", grant: "inventory.reserved" }]);
  });
  it("a NATS user granted a subject it did not declare", () => {
    const res = mutated(r(), (o) => o["kind"] === "ConfigMap" && o["data"]?.["nats.conf"], (o) => (o["data"]["nats.conf"] = o["data"]["nats.conf"].replace('"control.inventory.restocked"', '"control.inventory.restocked", "control.>"')));
    expect(accessDifferences(accessMatrix(r().config), granted(r(), res)).extra).toEqual([{ service: "inventory-service", kind: "nats-publish", grant: "control.>" }]);
  });
  it("a store role on another service's prefix", () => {
    const res = mutated(r(), (o) => o["kind"] === "Job" && JSON.stringify(o).includes("etcdctl role grant-permission"), (o) => {
      const c = o["spec"]["template"]["spec"]["containers"][0];
      c["command"][c["command"].length - 1] += "\netcdctl role grant-permission order-service readwrite --prefix=true /services/user-service/";
    });
    expect(accessDifferences(accessMatrix(r().config), granted(r(), res)).extra).toEqual([{ service: "order-service", kind: "store", grant: "/services/user-service/" }]);
  });
  const configurator = (o: Record<string, any>) => o["kind"] === "Job" && o["metadata"]?.namespace === "vault";
  it("a secret-store policy with a path the service did not declare", () => {
    const res = mutated(r(), configurator, (o) => {
      const c = o["spec"]["template"]["spec"]["containers"][0];
      c["command"][c["command"].length - 1] = c["command"][c["command"].length - 1].replace('path "secret/data/services/payment-service/provider"', 'path "secret/data/services/order-service/db" {\n  capabilities = ["read"]\n}\npath "secret/data/services/payment-service/provider"');
    });
    expect(accessDifferences(accessMatrix(r().config), granted(r(), res)).extra).toEqual([{ service: "payment-service", kind: "secret", grant: "secret/data/services/order-service/db" }]);
  });
  it("a secret-store role bound to every ServiceAccount of the namespace", () => {
    const res = mutated(r(), configurator, (o) => {
      const c = o["spec"]["template"]["spec"]["containers"][0];
      c["command"][c["command"].length - 1] = c["command"][c["command"].length - 1].replace("bound_service_account_names=payment-service", "bound_service_account_names=*");
    });
    const extra = accessDifferences(accessMatrix(r().config), granted(r(), res)).extra;
    expect(extra.map((x) => x.service).sort()).toEqual(["inventory-service", "inventory-service", "order-service", "order-service", "user-service", "user-service"]);
    expect(extra.every((x) => x.kind === "secret")).toBe(true);
  });
});

describe("the matrix equals the grants on random service graphs", () => {
  // The program's own objects (mesh policies, KafkaUsers, the store's auth Job), without charts:
  // NATS grants live in the chart's ConfigMap and are checked on dev and prod above.
  it("calls, topics and store use of any declaration set", async () => {
    const dev = readStackConfig("dev");
    const names = ["a-svc", "b-svc", "c-svc"];
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          calls: fc.array(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names), fc.boolean()), { maxLength: 4 }),
          produce: fc.array(fc.tuple(fc.constantFrom(...names), fc.constantFrom("orders.created", "payments.settled")), { maxLength: 3 }),
          consume: fc.array(fc.tuple(fc.constantFrom(...names), fc.constantFrom("orders.created", "inventory.reserved")), { maxLength: 3 }),
          store: fc.subarray(names),
        }),
        async ({ calls, produce, consume, store }) => {
          const services: Inputs = {};
          for (const n of names) services[n] = { image: `ghcr.io/acme-shop/${n}:1.0.0`, version: "1.0.0", replicas: { min: 1, max: 1 }, calls: [], produces: [], consumes: [], configStore: store.includes(n) };
          for (const [f, t, get] of calls) if (f !== t && !services[f].calls.some((c: Inputs) => c.service === t)) services[f].calls.push({ service: t, ...(get ? { methods: ["GET"], paths: ["/items"] } : {}) });
          for (const [svc, topic] of produce) if (!services[svc].produces.includes(topic)) services[svc].produces.push(topic);
          for (const [svc, topic] of consume) if (!services[svc].consumes.includes(topic)) services[svc].consumes.push(topic);
          const flat = { ...dev, "platform:services": JSON.stringify(services), "platform:resilience": JSON.stringify({}) };
          const config = platformConfigOf(flat);
          const run = await runProgram({ project: PROJECT, stack: "dev", config: flat, program: () => definePlatform(config) });
          const { objects, chartOf } = liveObjects(run.resources);
          const matrix = accessMatrix(config).filter((l) => !l.kind.startsWith("nats") && !l.kind.startsWith("kv"));
          expect(accessDifferences(matrix, grantedByObjects(objects, allPods(objects, chartOf), config))).toEqual({ extra: [], missing: [] });
        },
      ),
      { numRuns: 10 },
    );
  }, 900_000);
});
