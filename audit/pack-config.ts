/**
 * The policy pack's config for a stack, derived from the stack's own config, so that one stack file
 * says everything: a new stack gets the right environment, registries and digest level, and the
 * exemptions of the platform's own components (policy/platform-exemptions.json, each with its
 * reason), instead of the pack's defaults and a screen of mandatory findings about charts it did
 * not write. policy/stacks/<stack>.json, what `pulumi preview --policy-pack-config` reads in CI, is
 * this function's output for dev and prod (tests/policy-render.test.ts keeps them equal), and
 * `npm run audit -- --stack-file <f> --print-policy-config` prints it for any stack.
 */
import * as fs from "fs";
import * as path from "path";
import type { PlatformConfig } from "../config/schema";
import type { PackConfig } from "./analyzer";
import { PACKAGE_ROOT } from "../components/shared/package-root";

/** The exemptions of the platform's own components, for every stack. */
export const PLATFORM_EXEMPTIONS_FILE = path.join(PACKAGE_ROOT, "policy", "platform-exemptions.json");

/** The default gateway namespace the exemptions name; a stack's own gateway.namespace replaces it. */
const EXEMPTIONS_GATEWAY_NAMESPACE = "gateway-system";

type Json = Record<string, any>;

export function packConfigFor(config: Pick<PlatformConfig, "environment" | "security" | "gateway" | "secrets">): PackConfig {
  // The gateway's objects live in the stack's gateway namespace.
  const renamed = JSON.parse(fs.readFileSync(PLATFORM_EXEMPTIONS_FILE, "utf8"), (k, v) => (k === "namespace" && v === EXEMPTIONS_GATEWAY_NAMESPACE ? config.gateway.namespace : v)) as Json;
  const out: Json = { ...renamed };
  out["image-allowed-registry"] = { allowedRegistries: [...config.security.allowedRegistries], ...renamed["image-allowed-registry"] };
  out["quorum-members-in-prod"] = { environment: config.environment };
  // A stack that allows tags (dev) reports unpinned images without failing on them.
  if (!config.security.requireDigest) out["image-pinned-by-digest"] = { enforcementLevel: "advisory", ...renamed["image-pinned-by-digest"] };
  // A dev stack without admission control (security.admission.enabled false) has no Kyverno to
  // verify signatures: the pack reports the gap without failing the preview (prod refuses the setting).
  if (!config.security.admission.enabled) out["kyverno-verifies-every-registry"] = { enforcementLevel: "advisory", ...renamed["kyverno-verifies-every-registry"] };
  // A dev stack without NetworkPolicies (security.networkPolicies false) reports the gap without
  // failing the preview (prod refuses the setting).
  if (!config.security.networkPolicies) out["network-default-deny"] = { enforcementLevel: "advisory", ...renamed["network-default-deny"] };
  // The platform's secrets through the store: no Secret with values outside it but the bootstrap's.
  if (config.secrets.platformSecrets.enabled) out["secrets-from-store"] = { storeOnly: true };
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]])) as PackConfig;
}
