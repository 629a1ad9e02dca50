import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import type { PlatformConfig } from "../config/schema";
import { crdBundles } from "../versions";
import { consulSettings, etcdSettings, PLATFORM_NAMESPACES } from "../config/schema";
import { GatewayApiCrds } from "./core/gateway-api-crds";
import { Consul } from "./discovery/consul";
import { EtcdCluster } from "./discovery/etcd-cluster";
import { Nats } from "./messaging/nats";
import { StrimziKafka } from "./messaging/strimzi-kafka";
import { StrimziOperator } from "./messaging/strimzi-operator";
import { Namespaces } from "./core/namespaces";
import { serviceGraph, ServiceGraph } from "./service-graph";
import { Microservice } from "./workloads/microservice";

/** Repository root: vendored data (crds/) is read relative to it. */
const REPO_ROOT = path.resolve(__dirname, "..");

/** Inputs of the Platform. */
export interface PlatformArgs {
  /** The stack's validated config (config/load.ts). */
  readonly config: PlatformConfig;
}

/** What a user of the stack needs from it. */
export interface ServiceEndpoint {
  /** In-cluster DNS name of the stable Service. */
  readonly host: string;
  readonly port: number;
  readonly protocol: "http" | "grpc";
}

/** Where the config store and the brokers listen. */
export interface DataServices {
  readonly store: { readonly kind: "etcd" | "consul"; readonly endpoint: string };
  readonly kafkaBootstrap?: string;
  readonly natsUrl?: string;
}

/**
 * The whole platform for one stack. It composes the areas in the order of INSTALL_ORDER
 * (components/install-order.ts); areas receive what they need from each other as args.
 */
export class Platform extends pulumi.ComponentResource {
  /** The plain-data view of the service declarations every area derives from. */
  public readonly graph: ServiceGraph;
  /** Service name → in-cluster endpoint. */
  public readonly endpoints: Record<string, ServiceEndpoint>;
  /** Application namespaces. */
  public readonly namespaces: pulumi.Output<string[]>;
  /** In-cluster addresses of the config store and the event brokers (clients get them, with credentials, from Secrets). */
  public readonly dataServices: DataServices;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:index:Platform", name, {}, opts);
    const cfg = args.config;
    this.graph = serviceGraph(cfg);

    // Stage "crds": the Gateway API is read by both the gateway and the mesh.
    if (cfg.gateway.enabled || cfg.mesh.enabled) {
      const pin = crdBundles.gatewayApi;
      new GatewayApiCrds("gateway-api-crds", { dir: path.join(REPO_ROOT, pin.path), version: pin.version }, { parent: this });
    }

    // Stage "namespaces".
    const namespaces = new Namespaces("namespaces", { names: this.graph.namespaces, podSecurity: cfg.security.podSecurity }, { parent: this });

    // ---- Stages "discovery" and "messaging" (etcd or Consul; Kafka on Strimzi; NATS JetStream) ----
    // Client credentials land in the services' namespaces as Secrets; services read them as env
    // through secretKeyRef, so each service waits for its own Secrets (through their name outputs).
    const nsOf = (svc: string): pulumi.Output<string> => {
      const ns = namespaces.names[cfg.services[svc]!.namespace];
      if (ns === undefined) throw new pulumi.ResourceError(`platform:services.${svc}.namespace: namespace ${cfg.services[svc]!.namespace} was not created`, this);
      return ns;
    };
    const clientEnv: Record<string, Record<string, k8s.types.input.core.v1.EnvVarSource>> = {};
    const addEnv = (env: Record<string, Record<string, k8s.types.input.core.v1.EnvVarSource>>) => {
      for (const [svc, e] of Object.entries(env)) clientEnv[svc] = { ...clientEnv[svc], ...e };
    };
    const storeClients = this.graph.configStoreClients.map((service) => ({ service, namespace: nsOf(service) }));
    const placement = { domain: cfg.cluster.domain, zones: cfg.cluster.zones.length > 0, ...(cfg.cluster.storageClass ? { storageClass: cfg.cluster.storageClass } : {}) };
    let store: DataServices["store"];
    if (cfg.discovery.store === "etcd") {
      const etcd = new EtcdCluster("etcd", { namespace: PLATFORM_NAMESPACES.discovery, settings: etcdSettings(cfg.discovery), clusterName: cfg.cluster.name, clients: storeClients, ...placement }, { parent: this });
      addEnv(etcd.clientEnv);
      store = { kind: "etcd", endpoint: etcd.endpoints };
    } else {
      const consul = new Consul("consul", { namespace: PLATFORM_NAMESPACES.discovery, settings: consulSettings(cfg.discovery), clusterName: cfg.cluster.name, clients: storeClients, ...placement }, { parent: this });
      addEnv(consul.clientEnv);
      store = { kind: "consul", endpoint: consul.address };
    }
    let kafkaBootstrap: string | undefined;
    if (cfg.messaging.kafka.enabled) {
      const users = [...new Set(this.graph.topicUse.map((u) => u.service))].map((service) => ({ service, namespace: nsOf(service) }));
      const operator = new StrimziOperator("strimzi", { namespace: PLATFORM_NAMESPACES.kafka, ha: cfg.environment === "prod", domain: cfg.cluster.domain }, { parent: this });
      const kafka = new StrimziKafka("kafka", { namespace: PLATFORM_NAMESPACES.kafka, operator, settings: cfg.messaging.kafka, usage: this.graph.topicUse, clients: users, ...placement }, { parent: this });
      addEnv(kafka.clientEnv);
      kafkaBootstrap = kafka.bootstrap;
    }
    const nats = cfg.messaging.nats.enabled ? new Nats("nats", { namespace: PLATFORM_NAMESPACES.nats, settings: cfg.messaging.nats, ...placement }, { parent: this }) : undefined;
    this.dataServices = { store, ...(kafkaBootstrap ? { kafkaBootstrap } : {}), ...(nats ? { natsUrl: nats.url } : {}) };
    // ---- end discovery and messaging ----

    // Stage "workloads": each service waits only for its own namespace (through the name output).
    for (const [svcName, spec] of Object.entries(cfg.services)) {
      const ns = namespaces.names[spec.namespace];
      if (ns === undefined) throw new pulumi.ResourceError(`platform:services.${svcName}.namespace: namespace ${spec.namespace} was not created`, this);
      new Microservice(
        svcName,
        {
          namespace: ns,
          spec,
          environment: cfg.environment,
          otlpEndpoint: cfg.observability.otlpEndpoint,
          spreadAcrossZones: cfg.cluster.zones.length > 0,
          ...(clientEnv[svcName] ? { extraEnv: clientEnv[svcName] } : {}),
        },
        { parent: this },
      );
    }

    this.endpoints = Object.fromEntries(this.graph.services.map((s) => [s.name, { host: s.host, port: s.port, protocol: s.protocol }]));
    this.namespaces = pulumi.all(Object.values(namespaces.names));
    this.registerOutputs({ endpoints: this.endpoints, namespaces: this.namespaces, dataServices: this.dataServices });
  }
}
