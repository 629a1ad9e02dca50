import { unknownValueKeys } from "./support/helm-values";

describe("Helm values key check", () => {
  const defaults = {
    replicaCount: 1,
    image: { repository: "x", tag: "" },
    podAnnotations: {},
    resources: null,
    ports: { web: { port: 8000, expose: { default: true } } },
  };

  it("accepts keys the chart defines, and anything under free-form slots", () => {
    expect(unknownValueKeys({ replicaCount: 3, image: { tag: "v1" }, podAnnotations: { a: "b" }, resources: { limits: { memory: "1Gi" } } }, defaults)).toEqual([]);
  });

  it("names every misspelt key by its full path", () => {
    expect(unknownValueKeys({ replicas: 3, image: { tga: "v1" }, ports: { web: { expose: { defualt: false } } } }, defaults)).toEqual(["image.tga", "ports.web.expose.defualt", "replicas"]);
  });

  it("honours declared free-form paths and extra top-level keys", () => {
    expect(unknownValueKeys({ profile: "ambient", ports: { websecure: { port: 8443 } } }, defaults, { extraTopLevel: ["profile"], freeForm: ["ports.websecure"] })).toEqual([]);
  });
});
