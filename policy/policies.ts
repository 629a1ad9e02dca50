/**
 * Every policy of the pack, in one list. index.ts hands it to `new PolicyPack(...)` (whose
 * constructor starts the analyzer server); tests, the audit and the render import it from here.
 */
import type { Policies } from "@pulumi/policy";
import { helmReleasePinned } from "./helm";
import { imageAllowedRegistry, imagePinnedByDigest } from "./images";
import { kyvernoVerifiesEveryRegistry } from "./kyverno";
import { meshStrictMtls } from "./mesh";
import { networkDefaultDeny } from "./network";
import { pdbForMultiReplicaWorkloads } from "./pdb";
import { podSecurityBaseline, podSecurityRestricted } from "./pod-security";
import { quorumMembersInProd } from "./quorum";
import { containerResources } from "./resources";
import { noPlainSecrets } from "./secrets";
import { noExternalService } from "./services";
import { secretsFromStore } from "./store-secrets";

export const PACK_NAME = "platform-policies";

export const policies: Policies = [
  ...podSecurityBaseline,
  ...podSecurityRestricted,
  imagePinnedByDigest,
  imageAllowedRegistry,
  containerResources,
  noExternalService,
  helmReleasePinned,
  pdbForMultiReplicaWorkloads,
  meshStrictMtls,
  networkDefaultDeny,
  kyvernoVerifiesEveryRegistry,
  quorumMembersInProd,
  noPlainSecrets,
  secretsFromStore,
];
