/**
 * What Flagger (1.36.1) makes from each rendered Canary, so the proofs see the platform as it runs
 * once the Canary is initialized: the objects are reconstructed from Flagger's own code, field by
 * field, and carry the controller ownerReference Flagger sets (the proofs tell them apart by it).
 * - pkg/canary/deployment_controller.go createPrimaryDeployment: `<target>-primary`, the target's
 *   pod template with the selector label's value suffixed `-primary` (makePrimaryLabels), selector
 *   that label alone, replicas the target's (at least 1); config tracking is off in the platform's
 *   values, so the pod spec is the target's unchanged.
 * - pkg/canary/hpa_reconciler.go: `<autoscaler>-primary`, the HPA retargeted at the primary.
 * - pkg/router/kubernetes_default.go reconcileService: `<name>` (apex) and `<name>-primary` select
 *   the primary, `<name>-canary` the target; one port (portName, port, targetPort, appProtocol);
 *   labels the Canary's apex/primary/canary metadata plus the selector label = the Service's name.
 * - pkg/router/gateway_api.go Reconcile (provider gatewayapi:v1): HTTPRoute `<name>` with the
 *   Canary's gatewayRefs, hosts, matches (or `/`), header filters and timeout; backends primary
 *   100, canary 0.
 * - pkg/router/traefik.go Reconcile (provider traefik): TraefikService `<name>`, weighted, the
 *   primary Service at 100 (the canary joins it during an analysis).
 * The selector label is the one the platform's Flagger values set (-selector-labels).
 */
import { FLAGGER_API, FLAGGER_SELECTOR_LABEL } from "../../components/delivery/flagger";
import type { Obj } from "../../policy/k8s";
import { hpaFor, indexOf, LiveObject, nsOf } from "./pods";

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Every object Flagger makes from the render's Canaries (Deployment targets only: the platform renders no other). */
export function flaggerObjects(objects: readonly LiveObject[]): LiveObject[] {
  const ix = indexOf(objects);
  const out: LiveObject[] = [];
  for (const cd of ix.kind("Canary")) {
    const ns = nsOf(cd);
    const spec: Obj = cd["spec"] ?? {};
    const owner = { apiVersion: FLAGGER_API, kind: "Canary", name: cd.metadata.name, controller: true, blockOwnerDeletion: true };
    const meta = (name: string, labels: Record<string, string>) => ({ name, namespace: ns, labels, ownerReferences: [owner] });
    const target = spec["targetRef"]?.kind === "Deployment" ? ix.get("Deployment", ns, spec["targetRef"].name) : undefined;
    const svc: Obj = spec["service"] ?? {};
    const name: string = svc["name"] ?? spec["targetRef"]?.name ?? cd.metadata.name;
    const labelValue: string | undefined = target?.["spec"]?.selector?.matchLabels?.[FLAGGER_SELECTOR_LABEL];
    if (target && labelValue !== undefined) {
      const primaryValue = `${labelValue}-primary`;
      const relabel = (l: Record<string, string> | undefined) => ({ ...(l ?? {}), [FLAGGER_SELECTOR_LABEL]: primaryValue });
      const hpa = hpaFor(objects, target);
      const replicas = Math.max(1, Number(target["spec"]?.replicas ?? hpa?.["spec"]?.minReplicas ?? 1));
      const tspec: Obj = target["spec"];
      out.push({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: meta(`${target.metadata.name}-primary`, relabel(target.metadata.labels)),
        spec: {
          ...(tspec["progressDeadlineSeconds"] !== undefined ? { progressDeadlineSeconds: tspec["progressDeadlineSeconds"] } : {}),
          ...(tspec["minReadySeconds"] !== undefined ? { minReadySeconds: tspec["minReadySeconds"] } : {}),
          ...(tspec["revisionHistoryLimit"] !== undefined ? { revisionHistoryLimit: tspec["revisionHistoryLimit"] } : {}),
          replicas,
          ...(tspec["strategy"] ? { strategy: clone(tspec["strategy"]) } : {}),
          selector: { matchLabels: { [FLAGGER_SELECTOR_LABEL]: primaryValue } },
          template: { metadata: { labels: relabel(tspec["template"]?.metadata?.labels), annotations: { ...(tspec["template"]?.metadata?.annotations ?? {}) } }, spec: clone(tspec["template"]?.spec ?? {}) },
        },
      });
      if (hpa && spec["autoscalerRef"]?.name === hpa.metadata.name) {
        out.push({ apiVersion: hpa.apiVersion, kind: "HorizontalPodAutoscaler", metadata: meta(`${hpa.metadata.name}-primary`, { ...(hpa.metadata.labels ?? {}) }), spec: { ...clone(hpa["spec"]), scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: `${target.metadata.name}-primary` } } });
      }
      const service = (svcName: string, selectorValue: string, custom: Obj | undefined) => ({
        apiVersion: "v1",
        kind: "Service",
        metadata: { ...meta(svcName, { ...(custom?.["labels"] ?? {}), [FLAGGER_SELECTOR_LABEL]: svcName }), ...(custom?.["annotations"] ? { annotations: { ...custom["annotations"] } } : {}) },
        spec: {
          type: "ClusterIP",
          selector: { [FLAGGER_SELECTOR_LABEL]: selectorValue },
          ports: [{ name: svc["portName"] ?? "http", protocol: "TCP", port: svc["port"], targetPort: svc["targetPort"] ?? svc["port"], ...(svc["appProtocol"] ? { appProtocol: svc["appProtocol"] } : {}) }],
        },
      });
      out.push(service(name, primaryValue, svc["apex"]), service(`${name}-primary`, primaryValue, svc["primary"]), service(`${name}-canary`, labelValue, svc["canary"]));
    }
    if (spec["provider"] === "traefik") {
      out.push({
        apiVersion: "traefik.io/v1alpha1",
        kind: "TraefikService",
        metadata: { ...meta(name, { ...(svc["apex"]?.labels ?? {}) }), ...(svc["apex"]?.annotations ? { annotations: { ...svc["apex"].annotations } } : {}) },
        spec: { weighted: { services: [{ name: `${name}-primary`, namespace: ns, port: svc["port"], weight: 100 }] } },
      });
    }
    if (String(spec["provider"] ?? "").startsWith("gatewayapi:v1") && (svc["gatewayRefs"] ?? []).length) {
      const matches = ((svc["match"] ?? []) as Obj[]).map((m) => ({
        ...(m["uri"]?.prefix ? { path: { type: "PathPrefix", value: m["uri"].prefix } } : m["uri"]?.exact ? { path: { type: "Exact", value: m["uri"].exact } } : {}),
        ...(m["headers"] ? { headers: Object.entries(m["headers"] as Record<string, Obj>).map(([k, v]) => ({ name: k, type: v["exact"] !== undefined ? "Exact" : "RegularExpression", value: v["exact"] ?? v["regex"] })) } : {}),
      }));
      const headerOps = (h: Obj | undefined, type: string) => (h && (h["set"] || h["add"] || h["remove"]) ? [{ type, [type === "RequestHeaderModifier" ? "requestHeaderModifier" : "responseHeaderModifier"]: { ...(h["set"] ? { set: Object.entries(h["set"]).map(([k, v]) => ({ name: k, value: v })) } : {}), ...(h["add"] ? { add: Object.entries(h["add"]).map(([k, v]) => ({ name: k, value: v })) } : {}), ...(h["remove"] ? { remove: [...h["remove"]] } : {}) } }] : []);
      const filters = [...headerOps(svc["headers"]?.request, "RequestHeaderModifier"), ...headerOps(svc["headers"]?.response, "ResponseHeaderModifier")];
      const backend = (n: string, weight: number) => ({ group: "", kind: "Service", name: n, port: svc["port"], weight });
      out.push({
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: meta(name, {}),
        spec: {
          parentRefs: clone(svc["gatewayRefs"]),
          hostnames: [...(svc["hosts"] ?? [])],
          rules: [
            {
              matches: matches.length ? matches : [{ path: { type: "PathPrefix", value: "/" } }],
              ...(filters.length ? { filters } : {}),
              backendRefs: [backend(`${name}-primary`, 100), backend(`${name}-canary`, 0)],
              ...(svc["timeout"] ? { timeouts: { request: svc["timeout"] } } : {}),
            },
          ],
        },
      });
    }
  }
  return out;
}
