/**
 * Kyverno admission policies as plain data, from `security.*` config: the same baselines the
 * CrossGuard pack checks at preview, enforced again at admission for everything that reaches the
 * cluster (GitOps included).
 *
 * Kind: kyverno.io/v1 ClusterPolicy. It is the one policy type in the pinned Kyverno (v1.19) that
 * carries Pod Security, pattern validation and `verifyImages` with attestations, and it is what the
 * CrossGuard stack policy reads to prove every registry is verified. (The CEL ImageValidatingPolicy
 * is not in the pinned CRD set; moving there is a later, separate change.)
 */
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../../config/schema";
import { childOptions, customResource, K8sObject } from "../core/objects";

/** The predicate types the signed-image policy requires, besides the signature. */
export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";
export const CYCLONEDX_SBOM = "https://cyclonedx.org/bom";

/** Public Sigstore transparency log that keyless signatures are checked against. */
const REKOR = "https://rekor.sigstore.dev";

type Security = PlatformConfig["security"];

const labels = { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "platform" };

/** `ghcr.io/acme` → `ghcr.io/acme/*`, the form Kyverno's image patterns use. */
export const registryPattern = (prefix: string): string => `${prefix.replace(/\/+$/, "")}/*`;

const podMatch = (namespaces: readonly string[]) => ({ any: [{ resources: { kinds: ["Pod"], namespaces: [...namespaces] } }] });

/** The label istiod puts on the waypoint pods it creates (istiod chart files/waypoint.yaml). */
export const WAYPOINT_POD_LABELS = { "gateway.istio.io/managed": "istio.io-mesh-controller" } as const;

/**
 * Waypoint pods run the mesh's own proxy image, from istiod's release, not an application
 * registry: the application image rules skip them and one rule admits exactly that image there
 * (a pod that claims the label can run nothing else).
 */
const notWaypoint = (waypointImage: string | undefined) => (waypointImage ? { exclude: { any: [{ resources: { selector: { matchLabels: { ...WAYPOINT_POD_LABELS } } } }] } } : {});

/**
 * Namespaces left out of the Pod Security policy, by name, each with the reason. It covers every
 * namespace this platform creates (label `app.kubernetes.io/part-of: platform`: applications,
 * gateway, data stores), as their PSA labels already say; namespaces of other tools are not ours
 * to police.
 */
export const POD_SECURITY_EXCLUSIONS: Readonly<Record<string, string>> = {
  "kube-system": "Kubernetes' own system components.",
  "istio-system": "ztunnel and istio-cni are node agents: host networking and NET_ADMIN are their job.",
  observability: "The collector agent and node-exporter read host paths (pod logs, host metrics).",
  kyverno: "Kyverno's own pods: a policy must not be able to block its enforcer (it excludes itself by default too).",
};

/**
 * A Pod pattern requiring `image` to match in every container list; `=(...)` makes the optional
 * lists (init, ephemeral) apply only when present.
 */
const imagePattern = (image: string) => ({
  spec: { containers: [{ image }], "=(initContainers)": [{ image }], "=(ephemeralContainers)": [{ image }] },
});

/** The admission policies for the application namespaces. */
export function admissionPolicies(sec: Security, appNamespaces: readonly string[], waypointImage?: string): K8sObject[] {
  const action = sec.enforcement;
  const images = sec.allowedRegistries.map(registryPattern);
  const podSecurity: K8sObject = {
    apiVersion: "kyverno.io/v1",
    kind: "ClusterPolicy",
    metadata: {
      name: "pod-security",
      labels,
      annotations: {
        "policies.kyverno.io/title": `Pod Security Standard: ${sec.podSecurity}`,
        "platform.io/excluded-namespaces": Object.entries(POD_SECURITY_EXCLUSIONS).map(([ns, why]) => `${ns}: ${why}`).join(" "),
      },
    },
    spec: {
      background: true,
      rules: [
        {
          name: `pod-security-${sec.podSecurity}`,
          match: { any: [{ resources: { kinds: ["Pod"], namespaceSelector: { matchLabels: { "app.kubernetes.io/part-of": "platform" } } } }] },
          exclude: { any: [{ resources: { namespaces: Object.keys(POD_SECURITY_EXCLUSIONS) } }] },
          validate: { failureAction: action, podSecurity: { level: sec.podSecurity, version: "latest" } },
        },
      ],
    },
  };
  // A stack without services has no application namespace, and a Kyverno rule whose namespace
  // list is empty matches every namespace: the image rules would then refuse the platform's own pods.
  if (appNamespaces.length === 0) return [podSecurity];
  const out: K8sObject[] = [
    podSecurity,
    {
      apiVersion: "kyverno.io/v1",
      kind: "ClusterPolicy",
      metadata: { name: "image-registries", labels },
      spec: {
        background: true,
        rules: [
          {
            name: "allowed-registries",
            match: podMatch(appNamespaces),
            ...notWaypoint(waypointImage),
            validate: { failureAction: action, message: `Images must come from ${sec.allowedRegistries.join(", ")}.`, pattern: imagePattern(images.join(" | ")) },
          },
          ...(sec.requireDigest
            ? [
                {
                  name: "pinned-by-digest",
                  match: podMatch(appNamespaces),
                  ...notWaypoint(waypointImage),
                  validate: { failureAction: action, message: "Images must be pinned by digest (image@sha256:...).", pattern: imagePattern("*@sha256:*") },
                },
              ]
            : []),
          ...(waypointImage
            ? [
                {
                  name: "mesh-waypoint-image",
                  match: { any: [{ resources: { kinds: ["Pod"], namespaces: [...appNamespaces], selector: { matchLabels: { ...WAYPOINT_POD_LABELS } } } }] },
                  validate: { failureAction: action, message: `Waypoint pods run the mesh's proxy image ${waypointImage} only.`, pattern: imagePattern(waypointImage) },
                },
              ]
            : []),
        ],
      },
    },
  ];

  // Signatures and attestations: only when the stack says who signs.
  const keyless = sec.signing?.keyless;
  const publicKey = sec.signing?.publicKey;
  if (keyless || publicKey) {
    const entry = keyless ? { keyless: { issuer: keyless.issuer, subject: keyless.subject, rekor: { url: REKOR } } } : { keys: { publicKeys: publicKey!, rekor: { url: REKOR } } };
    const attestors = [{ count: 1, entries: [entry] }];
    out.push({
      apiVersion: "kyverno.io/v1",
      kind: "ClusterPolicy",
      metadata: { name: "verify-images", labels },
      spec: {
        background: false,
        webhookTimeoutSeconds: 30,
        rules: [
          {
            name: "signed-with-provenance-and-sbom",
            match: podMatch(appNamespaces),
            ...notWaypoint(waypointImage),
            verifyImages: [
              {
                imageReferences: images,
                failureAction: action,
                // Admission replaces tags by the verified digest, so what runs is what was checked.
                // Kyverno refuses mutateDigest on an Audit rule (it would mutate what it only reports).
                mutateDigest: action === "Enforce",
                verifyDigest: sec.requireDigest,
                required: true,
                attestors,
                attestations: [
                  {
                    type: SLSA_PROVENANCE_V1,
                    attestors,
                    ...(sec.slsaBuilderId ? { conditions: [{ all: [{ key: "{{ runDetails.builder.id }}", operator: "Equals", value: sec.slsaBuilderId }] }] } : {}),
                  },
                  { type: CYCLONEDX_SBOM, attestors },
                ],
              },
            ],
          },
        ],
      },
    });
  }
  return out;
}

/** Inputs of the admission policies. */
export interface AdmissionPoliciesArgs {
  /** security.* config: enforcement, Pod Security level, registries, digests, signer, SLSA builder. */
  readonly security: Security;
  /** Application namespaces the policies apply to. */
  readonly appNamespaces: readonly string[];
  /** The mesh's proxy image, which istiod's waypoints run in application namespaces; absent without the mesh. */
  readonly waypointImage?: string;
}

/** Kyverno ClusterPolicies for the application namespaces (Enforce in prod, Audit in dev). */
export class AdmissionPolicies extends pulumi.ComponentResource {
  /** Names of the ClusterPolicies. */
  public readonly policyNames: string[];

  constructor(name: string, args: AdmissionPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:security:AdmissionPolicies", name, {}, opts);
    const objs = admissionPolicies(args.security, args.appNamespaces, args.waypointImage);
    for (const o of objs) customResource(`${name}-${o.metadata.name}`, o, childOptions(this, opts));
    this.policyNames = objs.map((o) => o.metadata.name);
    this.registerOutputs({ policyNames: this.policyNames });
  }
}
