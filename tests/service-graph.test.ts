import fc from "fast-check";
import { INSTALL_ORDER, mayFollow, stageOf } from "../components/install-order";
import { serviceGraph } from "../components/service-graph";
import { parsePlatformConfig } from "../config/load";
import { platformConfigOf, readStackConfig } from "../render/stack";

describe("serviceGraph", () => {
  it("derives identities, calls, topic use and exposures from the prod declarations", () => {
    const g = serviceGraph(platformConfigOf(readStackConfig("prod")));
    expect(g.services.find((s) => s.name === "payment-service")).toEqual({
      name: "payment-service",
      namespace: "apps",
      serviceAccount: "payment-service",
      principal: "cluster.local/ns/apps/sa/payment-service",
      port: 9090,
      protocol: "grpc",
      host: "payment-service.apps.svc.cluster.local",
    });
    expect(g.calls).toEqual(
      expect.arrayContaining([
        { from: "order-service", to: "user-service", protocol: "http", methods: ["GET"], paths: ["/users"] },
        { from: "order-service", to: "payment-service", protocol: "grpc" },
      ]),
    );
    expect(g.topicUse).toContainEqual({ service: "notification-service", topic: "orders.created", role: "consume", group: "notification-service" });
    expect(g.exposures.map((e) => e.service)).toEqual(["inventory-service", "order-service", "user-service"]);
    expect(g.configStoreClients).toEqual(["inventory-service", "user-service"]);
    expect(g.namespaces).toEqual(["apps", "notifications"]);
  });

  it("keeps exactly the declared calls and topic uses, for random declarations", () => {
    const names = ["a", "b", "c", "d", "e"];
    const topics = ["t1", "t2", "t3"];
    const decl = fc.record({
      calls: fc.array(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names)).filter(([x, y]) => x !== y), { maxLength: 12 }),
      produces: fc.array(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...topics)), { maxLength: 8 }),
      consumes: fc.array(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...topics)), { maxLength: 8 }),
    });
    fc.assert(
      fc.property(decl, ({ calls, produces, consumes }) => {
        const uniq = <T>(xs: T[]) => [...new Map(xs.map((x) => [JSON.stringify(x), x])).values()];
        const c = uniq(calls), p = uniq(produces), q = uniq(consumes);
        const services = Object.fromEntries(
          names.map((n) => [
            n,
            {
              image: `ghcr.io/acme/${n}:1`,
              version: "1",
              replicas: { min: 1, max: 1 },
              calls: c.filter(([f]) => f === n).map(([, to]) => ({ service: to })),
              produces: p.filter(([s]) => s === n).map(([, t]) => t),
              consumes: q.filter(([s]) => s === n).map(([, t]) => t),
            },
          ]),
        );
        const cfg = parsePlatformConfig({
          environment: "dev",
          gateway: { implementation: "traefik", hostnames: ["x.example.com"] },
          discovery: { store: "etcd", etcd: { members: 1 } },
          messaging: { kafka: { combinedRoles: true, brokers: 1, controllers: 1, topicDefaults: { replicationFactor: 1, minInsyncReplicas: 1 }, topics: { t1: {}, t2: {}, t3: {} } }, nats: { replicas: 1 } },
          security: { allowedRegistries: ["ghcr.io/acme"], requireDigest: false, enforcement: "Audit" },
          services,
        });
        const g = serviceGraph(cfg);
        const key = (xs: string[][]) => xs.map((x) => x.join(">")).sort();
        expect(key(g.calls.map((e) => [e.from, e.to]))).toEqual(key(c));
        expect(key(g.topicUse.filter((u) => u.role === "produce").map((u) => [u.service, u.topic]))).toEqual(key(p));
        expect(key(g.topicUse.filter((u) => u.role === "consume").map((u) => [u.service, u.topic]))).toEqual(key(q));
      }),
      { numRuns: 100 },
    );
  });
});

describe("install order table", () => {
  it("names every stage it depends on, and has no cycles", () => {
    const names = INSTALL_ORDER.map((s) => s.name);
    for (const s of INSTALL_ORDER) {
      for (const a of s.after) expect(names).toContain(a);
      for (const a of s.after) expect(mayFollow(a, s.name)).toBe(false);
    }
  });

  it("maps component types to stages and allows only table edges", () => {
    expect(stageOf("platform:workloads:Microservice")?.name).toBe("workloads");
    expect(stageOf("platform:core:Namespaces")?.name).toBe("namespaces");
    expect(mayFollow("workloads", "namespaces")).toBe(true);
    expect(mayFollow("namespaces", "workloads")).toBe(false);
  });
});
