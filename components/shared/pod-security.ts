/**
 * Security contexts that satisfy the Pod Security Standard "restricted", and the labels of a
 * platform-owned namespace that enforces it. Shared by the areas that run their own pods and
 * namespaces (etcd, the NATS and Consul Jobs); application workloads build theirs in Microservice.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Non-root, no privilege escalation, no capabilities, read-only root, RuntimeDefault seccomp. */
export function restrictedContainer(): k8s.types.input.core.v1.SecurityContext {
  return {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Pod-level context: a fixed non-root UID/GID that also owns mounted volumes. */
export function restrictedPod(uid: number): k8s.types.input.core.v1.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** A namespace for platform components, enforcing Pod Security "restricted". */
export function platformNamespace(name: string, namespace: string, opts: pulumi.CustomResourceOptions, extraLabels: Readonly<Record<string, string>> = {}): k8s.core.v1.Namespace {
  return new k8s.core.v1.Namespace(
    name,
    {
      metadata: {
        name: namespace,
        labels: {
          "app.kubernetes.io/managed-by": "pulumi",
          "app.kubernetes.io/part-of": "platform",
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "latest",
          "pod-security.kubernetes.io/audit": "restricted",
          "pod-security.kubernetes.io/warn": "restricted",
          ...extraLabels,
        },
      },
    },
    opts,
  );
}

/** env entries reading every key of a Secret: `ENV_NAME → key`. */
export function secretEnv(secretName: pulumi.Input<string>, keys: Readonly<Record<string, string>>): Record<string, k8s.types.input.core.v1.EnvVarSource> {
  return Object.fromEntries(Object.entries(keys).map(([env, key]) => [env, { secretKeyRef: { name: secretName, key } }]));
}
