/**
 * Where a stack sends its secrets through the store (the platform's `secrets.platformSecrets`), no
 * Secret with values is created outside it: every Secret a workload reads is made by an
 * ExternalSecret from the store, and the only Secrets with values in the stack are the store's own
 * bootstrap (the mesh CA and the store's TLS, marked with STORE_BOOTSTRAP_ANNOTATION), which must
 * exist before the store can serve. A Secret without values (one a chart ships for its controller
 * to fill) holds nothing and passes. Off (the default) for stacks without the switch.
 */
import type { PolicyConfigSchema, StackValidationPolicy } from "@pulumi/policy";
import { configOf } from "./config";
import { metadataOf, Obj } from "./k8s";
import { ofKind } from "./stack-helpers";

/** The annotation the platform puts on its bootstrap Secrets (components/shared/secret-sink.ts BOOTSTRAP_ANNOTATION; a test keeps them equal). */
export const STORE_BOOTSTRAP_ANNOTATION = "platform.io/store-bootstrap";

interface StoreSecretsConfig {
  /** The stack sends its secrets through the store. */
  storeOnly: boolean;
}

const schema: PolicyConfigSchema = {
  properties: {
    storeOnly: { type: "boolean", default: false, description: "The stack's secrets come from the store through ExternalSecrets (the platform's secrets.platformSecrets)." },
  },
};

/** The keys of a Secret's data and stringData (values may arrive as secrets: only the keys are read). */
function keysOf(props: Obj): string[] {
  return ["data", "stringData"].flatMap((f) => {
    const v = props[f];
    return v && typeof v === "object" ? Object.keys(v as object) : [];
  });
}

export const secretsFromStore: StackValidationPolicy = {
  name: "secrets-from-store",
  description: "Where the stack's secrets go through the store, no Secret with values is created outside it but the store's bootstrap.",
  severity: "high",
  remediationSteps:
    "Hand the Secret to its component's secret sink (components/shared/secret-sink.ts) so that `pulumi up` writes it to the store and an ExternalSecret makes it; an application's secret is declared in services.<name>.secrets.",
  configSchema: schema,
  validateStack: (args, report) => {
    const cfg = configOf<StoreSecretsConfig>(schema, args.getConfig());
    if (!cfg.storeOnly) {
      args.notApplicable("the stack's secrets do not go through the store (secrets.platformSecrets is off)");
      return;
    }
    for (const s of ofKind(args.resources, ["core"], "Secret")) {
      const m = metadataOf(s.props);
      const keys = keysOf(s.props);
      if (keys.length === 0 || m.annotations?.[STORE_BOOTSTRAP_ANNOTATION] !== undefined) continue;
      report(`Secret ${m.namespace ?? "default"}/${m.name} holds values (${keys.sort().join(", ")}) outside the store: the render would leave it for a person to supply`, s.urn);
    }
  },
};
