/**
 * One-shot script Jobs the areas use to configure what they installed through its own CLI (etcd
 * auth, Consul ACL tokens, JetStream streams): a restricted pod, a writable /tmp as HOME, and a
 * name that carries a hash of what the script does, so a changed script runs again as a new Job.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { restrictedContainer, restrictedPod } from "./pod-security";

/** First 8 hex digits of the SHA-256 of the parts: a Job name suffix that changes with its content. */
export function contentHash(...parts: readonly string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\u0000");
  return h.digest("hex").slice(0, 8);
}

/** What a script pod runs. */
export interface ScriptPodArgs {
  /** Container name. */
  readonly name: string;
  readonly image: string;
  /** An output where the script waits for something known later (the store's configurator). */
  readonly script: pulumi.Input<string>;
  /** Shell to run the script with (`/tools/sh` where the image has none of its own). */
  readonly shell?: string;
  /** Non-root UID/GID the pod runs as. */
  readonly uid: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly env?: k8s.types.input.core.v1.EnvVar[];
  readonly volumes?: k8s.types.input.core.v1.Volume[];
  readonly mounts?: k8s.types.input.core.v1.VolumeMount[];
  readonly initContainers?: k8s.types.input.core.v1.Container[];
  /** Memory limit of the script container. */
  readonly memory?: string;
  /** ServiceAccount of the pod (its mesh identity); default: the namespace's `default`. */
  readonly serviceAccountName?: pulumi.Input<string>;
}

/** The pod template of a script Job: restricted, retried on failure, no API token. */
export function scriptPod(a: ScriptPodArgs): k8s.types.input.core.v1.PodTemplateSpec {
  return {
    metadata: { labels: { ...a.labels } },
    spec: {
      restartPolicy: "OnFailure",
      ...(a.serviceAccountName ? { serviceAccountName: a.serviceAccountName } : {}),
      automountServiceAccountToken: false,
      securityContext: restrictedPod(a.uid),
      ...(a.initContainers ? { initContainers: a.initContainers } : {}),
      containers: [
        {
          name: a.name,
          image: a.image,
          command: [a.shell ?? "/bin/sh", "-c", a.script],
          env: [{ name: "HOME", value: "/tmp" }, ...(a.env ?? [])],
          resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { memory: a.memory ?? "128Mi" } },
          securityContext: restrictedContainer(),
          volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...(a.mounts ?? [])],
        },
      ],
      volumes: [{ name: "tmp", emptyDir: { sizeLimit: "16Mi" } }, ...(a.volumes ?? [])],
    },
  };
}
