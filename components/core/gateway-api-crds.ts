import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { loadAll } from "js-yaml";

/** Inputs of the Gateway API CRD bundle. */
export interface GatewayApiCrdsArgs {
  /** Directory holding the upstream standard-channel files (crds/gateway-api/<version>/standard). */
  readonly dir: string;
  /** Bundle version, checked against the files' `gateway.networking.k8s.io/bundle-version` annotation. */
  readonly version: string;
}

type Doc = { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string> } };

/**
 * The Gateway API CRDs (standard channel) as their own install step, before any controller or
 * mesh component: the gateway implementations and istiod both watch them. Includes the
 * `safe-upgrades` ValidatingAdmissionPolicy that ships with them, which stops anything (a chart
 * bundling experimental CRDs, say) from replacing the standard CRDs. Needs Kubernetes >= 1.30.
 */
export class GatewayApiCrds extends pulumi.ComponentResource {
  /** Names of the installed CRDs. */
  public readonly crdNames: string[];

  constructor(name: string, args: GatewayApiCrdsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:crds:GatewayApiCrds", name, {}, opts);
    const docs = fs
      .readdirSync(args.dir)
      .filter((f) => f.endsWith(".yaml"))
      .sort()
      // js-yaml: 4x faster than yaml's document model on these 2 MB, and the same objects.
      .flatMap((f) => loadAll(fs.readFileSync(path.join(args.dir, f), "utf8")) as (Doc | null)[])
      .filter((d): d is Doc => d !== null);
    this.crdNames = [];
    for (const d of docs) {
      const opt = { parent: this };
      switch (d.kind) {
        case "CustomResourceDefinition": {
          const bundle = d.metadata.annotations?.["gateway.networking.k8s.io/bundle-version"];
          if (bundle !== args.version) {
            throw new pulumi.ResourceError(`${d.metadata.name}: bundle-version ${String(bundle)} in ${args.dir}, expected ${args.version} (versions/index.ts)`, this);
          }
          new k8s.apiextensions.v1.CustomResourceDefinition(d.metadata.name, d as unknown as k8s.apiextensions.v1.CustomResourceDefinitionArgs, opt);
          this.crdNames.push(d.metadata.name);
          break;
        }
        case "ValidatingAdmissionPolicy":
          new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(d.metadata.name, d as unknown as k8s.admissionregistration.v1.ValidatingAdmissionPolicyArgs, opt);
          break;
        case "ValidatingAdmissionPolicyBinding":
          new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(d.metadata.name, d as unknown as k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingArgs, opt);
          break;
        default:
          throw new pulumi.ResourceError(`unexpected ${d.kind} ${d.metadata.name} in the Gateway API bundle`, this);
      }
    }
    this.registerOutputs({ crdNames: this.crdNames });
  }
}
