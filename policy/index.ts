// The pack's entry point for `pulumi preview --policy-pack policy` and `pulumi policy publish`.
// Only this file calls `new PolicyPack`: its constructor starts the analyzer's gRPC server, so
// nothing else may import it. Policies live in their own modules (policies.ts lists them).
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, {
  description: "Platform baselines at preview time: Pod Security, images, resources, exposure, Helm pins, PDBs, mesh mTLS, network default deny, image verification, quorums, secrets.",
  // Every policy is mandatory unless the pack's config (--policy-pack-config) lowers it.
  enforcementLevel: "mandatory",
  policies,
});
