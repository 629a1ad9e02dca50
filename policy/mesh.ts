/**
 * Every application namespace is enrolled in the Istio ambient mesh (label
 * `istio.io/dataplane-mode=ambient` on its Namespace) and its effective PeerAuthentication mode is
 * STRICT: the namespace's own namespace-wide policy if it has one, else the mesh-wide one in the
 * root namespace (istio-system), else Istio's default, PERMISSIVE. A workload-level policy in the
 * namespace that relaxes mTLS (PERMISSIVE or DISABLE, for the workload or a port) fails too.
 *
 * Application namespaces: the namespaces the stack's workloads run in, minus the infrastructure
 * namespaces listed in the config, each with the reason it stays out of the mesh.
 */
import type { PolicyConfigSchema, PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { configOf, namespacesWithReasons } from "./config";
import { metadataOf, Obj } from "./k8s";
import { ofKind, workloadsOf } from "./stack-helpers";

export const AMBIENT_LABEL = "istio.io/dataplane-mode";

interface MeshConfig {
  /** Istio's root namespace: a PeerAuthentication there without a selector is mesh-wide. */
  meshRootNamespace: string;
  /** Namespaces outside the mesh on purpose, with the reason. */
  infrastructureNamespaces: { namespace: string; reason: string }[];
}

const schema: PolicyConfigSchema = {
  properties: {
    meshRootNamespace: { type: "string", minLength: 1, default: "istio-system" },
    infrastructureNamespaces: namespacesWithReasons("Namespaces that are not application namespaces and stay out of the mesh, each with the reason.", [
      { namespace: "kube-system", reason: "Kubernetes system components; not application traffic." },
      { namespace: "istio-system", reason: "The mesh's own control plane, ztunnel and CNI run on the host network or before the mesh exists." },
      { namespace: "kyverno", reason: "Admission webhooks are called by the API server, which is not a mesh member: STRICT mTLS would block them." },
      { namespace: "flux-system", reason: "The GitOps controllers bootstrap the cluster, the mesh included." },
    ]),
  },
};

const isStrict = (m: unknown) => m === "STRICT";
const relaxes = (m: unknown) => m === "PERMISSIVE" || m === "DISABLE";

/** The effective namespace-wide mTLS mode of `ns`, with where it comes from. */
export function namespaceMtls(peerAuths: readonly PolicyResource[], ns: string, root: string): { mode: string; from: string } {
  const wide = (n: string) =>
    peerAuths.find((p) => (metadataOf(p.props).namespace ?? "default") === n && !hasSelector(p.props) && modeOf(p.props) !== "UNSET" && modeOf(p.props) !== undefined);
  const own = wide(ns);
  if (own) return { mode: modeOf(own.props)!, from: `PeerAuthentication ${ns}/${metadataOf(own.props).name}` };
  const mesh = wide(root);
  if (mesh) return { mode: modeOf(mesh.props)!, from: `mesh-wide PeerAuthentication ${root}/${metadataOf(mesh.props).name}` };
  return { mode: "PERMISSIVE", from: "Istio's default (no PeerAuthentication applies)" };
}

function modeOf(props: Obj): string | undefined {
  return props["spec"]?.["mtls"]?.["mode"];
}
function hasSelector(props: Obj): boolean {
  const ml = props["spec"]?.["selector"]?.["matchLabels"];
  return !!ml && Object.keys(ml).length > 0;
}

export const meshStrictMtls: StackValidationPolicy = {
  name: "mesh-strict-mtls",
  description: "Every application namespace is enrolled in the ambient mesh with STRICT mTLS.",
  severity: "critical",
  remediationSteps: "Label the namespace istio.io/dataplane-mode=ambient and apply a STRICT PeerAuthentication mesh-wide (istio-system) or in the namespace.",
  configSchema: schema,
  validateStack: (args, report) => {
    const cfg = configOf<MeshConfig>(schema, args.getConfig());
    const infra = new Set(cfg.infrastructureNamespaces.map((n) => n.namespace));
    const appNamespaces = [...new Set(workloadsOf(args.resources).map((w) => w.namespace))].filter((n) => !infra.has(n)).sort();
    if (appNamespaces.length === 0) args.notApplicable("the stack runs no workloads in application namespaces");
    const namespaces = ofKind(args.resources, ["core"], "Namespace");
    const peerAuths = ofKind(args.resources, ["security.istio.io"], "PeerAuthentication");
    for (const ns of appNamespaces) {
      const obj = namespaces.find((n) => metadataOf(n.props).name === ns);
      const mode = obj ? metadataOf(obj.props).labels[AMBIENT_LABEL] : undefined;
      if (mode !== "ambient") {
        report(`namespace ${ns} is not enrolled in the ambient mesh (${obj ? `label ${AMBIENT_LABEL} is ${mode ?? "unset"}` : "the stack does not declare the Namespace"})`, obj?.urn);
      }
      const eff = namespaceMtls(peerAuths, ns, cfg.meshRootNamespace);
      if (!isStrict(eff.mode)) report(`namespace ${ns}: mTLS mode is ${eff.mode}, from ${eff.from}; STRICT is required`, obj?.urn);
      for (const p of peerAuths.filter((p) => (metadataOf(p.props).namespace ?? "default") === ns && hasSelector(p.props))) {
        const ports = Object.entries((p.props["spec"]?.["portLevelMtls"] ?? {}) as Record<string, Obj>).filter(([, v]) => relaxes(v["mode"]));
        if (relaxes(modeOf(p.props)) || ports.length) {
          report(`PeerAuthentication ${ns}/${metadataOf(p.props).name} relaxes mTLS for its workloads (${relaxes(modeOf(p.props)) ? `mode ${modeOf(p.props)}` : `ports ${ports.map(([k]) => k).join(", ")}`})`, p.urn);
        }
      }
    }
  },
};
