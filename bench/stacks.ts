/**
 * The benchmark's workloads: the prod stack as configured, and generated stacks of N microservices
 * derived from it. A generated stack keeps every other area of prod on (gateway, mesh, etcd, Kafka,
 * NATS, observability) and clones prod's services in "cells": cell 0 is prod's own services, cell c
 * renames each service `<name>-<c>`, points its calls at the clones in the same cell, gives its
 * Kafka topics their own copies (`<topic>.<c>`, declared with prod's settings) and its exposed
 * routes their own paths, so the config validates and every area grows with N. Pure: no I/O.
 */

type Json = Record<string, any>;

/** A workload: a name for the report and the flat config map Pulumi would hand the program. */
export interface Workload {
  readonly name: string;
  /** Declared microservices. */
  readonly services: number;
  readonly config: Record<string, string>;
}

const SERVICES_KEY = "platform:services";
const MESSAGING_KEY = "platform:messaging";
const RESILIENCE_KEY = "platform:resilience";

const parse = (flat: Record<string, string>, key: string): Json => (flat[key] === undefined ? {} : (JSON.parse(flat[key]!) as Json));

/** Route paths of clone `c`: HTTP prefixes under `/c<c>`, gRPC service names with a `C<c>` suffix. */
function clonePaths(paths: readonly string[], grpc: boolean, c: number): string[] {
  return paths.map((p) => (grpc ? (p === "/" ? p : `${p}C${c}`) : `/c${c}${p === "/" ? "" : p}`));
}

/**
 * A stack with exactly `n` services derived from `base` (a flat config map such as prod's). Cells
 * are whole copies of the base services (sorted by name); the last cell may be partial, and then
 * calls to services outside it are dropped. Sagas stay on cell 0 (they are checked by the formal
 * models, not rendered) and are dropped if cell 0 is partial.
 */
export function generatedStack(base: Record<string, string>, n: number): Record<string, string> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`service count must be a positive integer (got ${n})`);
  const services = parse(base, SERVICES_KEY);
  const names = Object.keys(services).sort();
  if (names.length === 0) throw new Error(`the base stack declares no services (${SERVICES_KEY})`);
  const messaging = parse(base, MESSAGING_KEY);
  const topics: Json = messaging["kafka"]?.["topics"] ?? {};
  const outServices: Json = {};
  const outTopics: Json = {};
  const cells = Math.ceil(n / names.length);
  for (let c = 0; c < cells; c++) {
    const members = names.slice(0, Math.min(names.length, n - c * names.length));
    const rename = (s: string) => (c === 0 ? s : `${s}-${c}`);
    const topic = (t: string) => (c === 0 ? t : `${t}.${c}`);
    for (const name of members) {
      const s: Json = structuredClone(services[name]);
      if (s["calls"]) s["calls"] = (s["calls"] as Json[]).filter((k) => members.includes(k["service"])).map((k) => ({ ...k, service: rename(k["service"]) }));
      for (const field of ["produces", "consumes"]) {
        if (!s[field]) continue;
        s[field] = (s[field] as string[]).map(topic);
        for (const t of services[name][field] as string[]) outTopics[topic(t)] = topics[t] ?? {};
      }
      if (c > 0 && s["expose"]) s["expose"]["paths"] = clonePaths(s["expose"]["paths"] ?? ["/"], s["protocol"] === "grpc", c);
      outServices[rename(name)] = s;
    }
  }
  const out: Record<string, string> = { ...base, [SERVICES_KEY]: JSON.stringify(outServices) };
  if (messaging["kafka"]) {
    out[MESSAGING_KEY] = JSON.stringify({ ...messaging, kafka: { ...messaging["kafka"], topics: { ...topics, ...outTopics } } });
  }
  if (n < names.length && base[RESILIENCE_KEY] !== undefined) {
    const resilience = parse(base, RESILIENCE_KEY);
    const sagas: Json = resilience["sagas"] ?? {};
    const kept = Object.fromEntries(
      Object.entries(sagas).filter(([, saga]) => [saga["orchestrator"], ...(saga["steps"] as Json[]).map((st) => st["service"])].every((s) => s in outServices)),
    );
    out[RESILIENCE_KEY] = JSON.stringify({ ...resilience, sagas: kept });
  }
  return out;
}

/** The workloads `npm run bench` measures: prod as configured, then N = `sizes` generated from it. */
export function workloads(prod: Record<string, string>, sizes: readonly number[]): Workload[] {
  const prodServices = Object.keys(parse(prod, SERVICES_KEY)).length;
  return [{ name: "prod", services: prodServices, config: prod }, ...sizes.map((n) => ({ name: `N=${n}`, services: n, config: generatedStack(prod, n) }))];
}
