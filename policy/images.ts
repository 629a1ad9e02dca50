/**
 * Supply-chain policies on images: pinned by digest (a tag can be moved; a digest cannot) and
 * pulled only from allowed registries. Every container list of every workload kind.
 */
import type { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import { Exemption, exemptionsProperty } from "./config";
import { perContainer, podPolicy } from "./workload-policy";

/** An image reference taken apart, with Docker Hub's implicit registry and `library/` made explicit. */
export interface ImageRef {
  /** registry/repository, e.g. docker.io/library/nginx. */
  readonly name: string;
  readonly registry: string;
  readonly tag?: string;
  readonly digest?: string;
}

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

export function parseImage(image: string): ImageRef {
  const at = image.indexOf("@");
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  let rest = at >= 0 ? image.slice(0, at) : image;
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  const tag = colon > slash ? rest.slice(colon + 1) : undefined;
  if (tag !== undefined) rest = rest.slice(0, colon);
  const first = rest.split("/")[0]!;
  const hasRegistry = rest.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  const name = hasRegistry ? rest : `docker.io/${rest.includes("/") ? rest : `library/${rest}`}`;
  return { name, registry: name.split("/")[0]!, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Whether the image is pinned by a well-formed digest (`@sha256:<hex>`). */
export function pinnedByDigest(image: string): boolean {
  const d = parseImage(image).digest;
  return d !== undefined && DIGEST.test(d);
}

/**
 * Whether the image comes from one of the allowed prefixes (`ghcr.io/acme`, `eu.foo.io/`): the
 * prefix must end at a path boundary, so `ghcr.io/acme` does not admit `ghcr.io/acme-evil/x`.
 */
export function fromAllowedRegistry(image: string, allowed: readonly string[]): boolean {
  const name = parseImage(image).name;
  return allowed.some((p) => {
    const prefix = p.replace(/\/+$/, "");
    return prefix.length > 0 && name.startsWith(prefix + "/");
  });
}

export const imagePinnedByDigest: ResourceValidationPolicy = podPolicy({
  name: "image-pinned-by-digest",
  description: "Every container image is pinned by digest (image@sha256:...).",
  severity: "high",
  remediationSteps: "Resolve the tag to its digest (crane digest <image>) and reference image@sha256:<digest>.",
  check: (pod) => perContainer(pod, (r) => (r.container.image && pinnedByDigest(r.container.image) ? undefined : `image ${r.container.image ?? "(none)"} is not pinned by digest`)),
});

const registrySchema: PolicyConfigSchema = {
  properties: {
    allowedRegistries: {
      type: "array",
      description: "Registry prefixes images may come from, e.g. ghcr.io/acme-shop. Docker Hub images are docker.io/library/<name>.",
      items: { type: "string", minLength: 1 },
      default: [],
    },
    exemptions: exemptionsProperty as any,
  },
};

export const imageAllowedRegistry: ResourceValidationPolicy = podPolicy<{ allowedRegistries: string[]; exemptions: Exemption[] }>({
  name: "image-allowed-registry",
  description: "Every container image comes from an allowed registry.",
  severity: "high",
  remediationSteps: "Mirror the image into an allowed registry, or add the registry to allowedRegistries in the pack's config.",
  configSchema: registrySchema,
  check: (pod, cfg) =>
    perContainer(pod, (r) =>
      r.container.image && fromAllowedRegistry(r.container.image, cfg.allowedRegistries)
        ? undefined
        : `image ${r.container.image ?? "(none)"} is not from an allowed registry (${cfg.allowedRegistries.join(", ") || "none configured"})`,
    ),
});
