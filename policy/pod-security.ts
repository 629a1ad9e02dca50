/**
 * Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
 * baseline and restricted, one policy per control so each has its own enforcement level and
 * exemptions. Checks read effective values: a container's securityContext field overrides the
 * pod's, and containers, initContainers and ephemeralContainers are all checked, in every workload
 * kind (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob).
 *
 * Where the standard forbids a value at either level (privileged, host process, SELinux, seccomp
 * Unconfined, runAsUser 0), a forbidden pod-level value fails even if every container overrides
 * it, as Pod Security Admission does: the pod-level value is what a new container would inherit.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { Container, effective, Obj } from "./k8s";
import { Finding, perContainer, PodCheck, podPolicy } from "./workload-policy";

const each = perContainer;
const sc = (c: Container, field: string) => c.securityContext?.[field];

/** Capabilities the baseline profile lets a container add. */
export const BASELINE_CAPABILITIES = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];
/** Safe sysctls (baseline; the list as of Kubernetes 1.29+). */
export const SAFE_SYSCTLS = [
  "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
];
/** SELinux types baseline allows (container_engine_t since Kubernetes 1.31). */
export const SELINUX_TYPES = ["container_t", "container_init_t", "container_kvm_t", "container_engine_t"];
/** Volume types restricted allows. */
export const RESTRICTED_VOLUMES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
const GOOD_SECCOMP = ["RuntimeDefault", "Localhost"];

const baselineChecks: PodCheck[] = [
  {
    name: "pss-host-namespaces",
    description: "Pod Security baseline: pods do not share the host's network, PID or IPC namespace.",
    severity: "critical",
    remediationSteps: "Remove hostNetwork, hostPID and hostIPC (or set them to false).",
    check: (pod) => (["hostNetwork", "hostPID", "hostIPC"] as const).filter((f) => pod.spec[f] === true).map((f) => ({ message: `${f} is true` })),
  },
  {
    name: "pss-privileged",
    description: "Pod Security baseline: no privileged containers.",
    severity: "critical",
    remediationSteps: "Remove securityContext.privileged (or set it to false) on every container.",
    check: (pod) => each(pod, (r) => (sc(r.container, "privileged") === true ? "securityContext.privileged is true" : undefined)),
  },
  {
    name: "pss-capabilities-baseline",
    description: `Pod Security baseline: containers add no capability beyond ${BASELINE_CAPABILITIES.join(", ")}.`,
    severity: "high",
    remediationSteps: "Drop the extra capabilities from securityContext.capabilities.add.",
    check: (pod) =>
      each(pod, (r) => {
        const bad = ((sc(r.container, "capabilities")?.add ?? []) as string[]).filter((c) => !BASELINE_CAPABILITIES.includes(c));
        return bad.length ? `adds capabilities ${bad.join(", ")}` : undefined;
      }),
  },
  {
    name: "pss-host-path",
    description: "Pod Security baseline: no hostPath volumes.",
    severity: "critical",
    remediationSteps: "Use an emptyDir, a PersistentVolumeClaim or a projected volume instead of hostPath.",
    check: (pod) => ((pod.spec["volumes"] ?? []) as Obj[]).filter((v) => v["hostPath"] != null).map((v) => ({ message: `volume ${v["name"]} is a hostPath (${v["hostPath"]?.path})` })),
  },
  {
    name: "pss-host-ports",
    description: "Pod Security baseline: containers do not bind host ports.",
    severity: "high",
    remediationSteps: "Remove hostPort from the container ports; expose the pod through a Service.",
    check: (pod) =>
      each(pod, (r) => {
        const ports = (r.container.ports ?? []).filter((p) => p["hostPort"] !== undefined && p["hostPort"] !== null && p["hostPort"] !== 0);
        return ports.length ? `binds host port(s) ${ports.map((p) => p["hostPort"]).join(", ")}` : undefined;
      }),
  },
  {
    name: "pss-apparmor",
    description: "Pod Security baseline: the AppArmor profile, where set, is RuntimeDefault or Localhost (never unconfined).",
    severity: "high",
    remediationSteps: "Set appArmorProfile.type to RuntimeDefault (or the annotation to runtime/default), or remove it.",
    check: (pod) => {
      const out: Finding[] = [];
      for (const [k, v] of Object.entries((pod.metadata["annotations"] ?? {}) as Record<string, string>)) {
        if (k.startsWith("container.apparmor.security.beta.kubernetes.io/") && v !== "runtime/default" && !v.startsWith("localhost/")) {
          out.push({ container: k.slice(k.indexOf("/") + 1), message: `annotation ${k} is ${v}` });
        }
      }
      const bad = (p: Obj | undefined) => p?.["type"] !== undefined && !GOOD_SECCOMP.includes(p["type"]);
      if (bad(pod.spec["securityContext"]?.appArmorProfile)) out.push({ message: `securityContext.appArmorProfile.type is ${pod.spec["securityContext"].appArmorProfile.type}` });
      out.push(...each(pod, (r) => (bad(sc(r.container, "appArmorProfile")) ? `securityContext.appArmorProfile.type is ${sc(r.container, "appArmorProfile").type}` : undefined)));
      return out;
    },
  },
  {
    name: "pss-selinux-type",
    description: `Pod Security baseline: the SELinux type, where set, is one of ${SELINUX_TYPES.join(", ")}.`,
    severity: "high",
    remediationSteps: "Remove seLinuxOptions.type or use container_t.",
    check: (pod) => {
      const bad = (o: Obj | undefined) => o?.["type"] !== undefined && o?.["type"] !== "" && !SELINUX_TYPES.includes(o["type"]);
      const out: Finding[] = [];
      if (bad(pod.spec["securityContext"]?.seLinuxOptions)) out.push({ message: `pod seLinuxOptions.type is ${pod.spec["securityContext"].seLinuxOptions.type}` });
      return out.concat(each(pod, (r) => (bad(sc(r.container, "seLinuxOptions")) ? `seLinuxOptions.type is ${sc(r.container, "seLinuxOptions").type}` : undefined)));
    },
  },
  {
    name: "pss-selinux-user-role",
    description: "Pod Security baseline: no custom SELinux user or role.",
    severity: "high",
    remediationSteps: "Remove seLinuxOptions.user and seLinuxOptions.role.",
    check: (pod) => {
      const bad = (o: Obj | undefined) => ["user", "role"].filter((k) => o?.[k] !== undefined && o?.[k] !== "");
      const podLevel = bad(pod.spec["securityContext"]?.seLinuxOptions);
      const out: Finding[] = podLevel.length ? [{ message: `pod seLinuxOptions sets ${podLevel.join(" and ")}` }] : [];
      return out.concat(each(pod, (r) => {
        const b = bad(sc(r.container, "seLinuxOptions"));
        return b.length ? `seLinuxOptions sets ${b.join(" and ")}` : undefined;
      }));
    },
  },
  {
    name: "pss-proc-mount",
    description: "Pod Security baseline: the default /proc mask (procMount Default).",
    severity: "high",
    remediationSteps: "Remove securityContext.procMount or set it to Default.",
    check: (pod) => each(pod, (r) => {
      const p = sc(r.container, "procMount");
      return p !== undefined && p !== null && p !== "Default" ? `procMount is ${p}` : undefined;
    }),
  },
  {
    name: "pss-seccomp-baseline",
    description: "Pod Security baseline: the seccomp profile, where set, is not Unconfined.",
    severity: "high",
    remediationSteps: "Set seccompProfile.type to RuntimeDefault.",
    check: (pod) => {
      const bad = (p: Obj | undefined) => p?.["type"] !== undefined && !GOOD_SECCOMP.includes(p["type"]);
      const out: Finding[] = bad(pod.spec["securityContext"]?.seccompProfile) ? [{ message: `pod seccompProfile.type is ${pod.spec["securityContext"].seccompProfile.type}` }] : [];
      return out.concat(each(pod, (r) => (bad(sc(r.container, "seccompProfile")) ? `seccompProfile.type is ${sc(r.container, "seccompProfile").type}` : undefined)));
    },
  },
  {
    name: "pss-sysctls",
    description: "Pod Security baseline: only safe sysctls.",
    severity: "high",
    remediationSteps: `Use only ${SAFE_SYSCTLS.join(", ")}.`,
    check: (pod) =>
      ((pod.spec["securityContext"]?.sysctls ?? []) as Obj[]).filter((s) => !SAFE_SYSCTLS.includes(s["name"])).map((s) => ({ message: `sysctl ${s["name"]} is not a safe sysctl` })),
  },
  {
    name: "pss-windows-host-process",
    description: "Pod Security baseline: no Windows HostProcess containers.",
    severity: "critical",
    remediationSteps: "Remove windowsOptions.hostProcess (or set it to false) at pod and container level.",
    check: (pod) => {
      const out: Finding[] = pod.spec["securityContext"]?.windowsOptions?.hostProcess === true ? [{ message: "pod windowsOptions.hostProcess is true" }] : [];
      return out.concat(each(pod, (r) => (sc(r.container, "windowsOptions")?.hostProcess === true ? "windowsOptions.hostProcess is true" : undefined)));
    },
  },
];

const restrictedChecks: PodCheck[] = [
  {
    name: "pss-volume-types",
    description: `Pod Security restricted: only ${RESTRICTED_VOLUMES.join(", ")} volumes.`,
    severity: "high",
    remediationSteps: "Replace other volume types with a PersistentVolumeClaim, a CSI or an ephemeral volume.",
    check: (pod) =>
      ((pod.spec["volumes"] ?? []) as Obj[]).flatMap((v) => {
        const types = Object.keys(v).filter((k) => k !== "name" && v[k] !== undefined && v[k] !== null);
        const bad = types.filter((t) => !RESTRICTED_VOLUMES.includes(t));
        return bad.length ? [{ message: `volume ${v["name"]} is of type ${bad.join(", ")}` }] : [];
      }),
  },
  {
    name: "pss-privilege-escalation",
    description: "Pod Security restricted: every container sets allowPrivilegeEscalation: false.",
    severity: "high",
    remediationSteps: "Set securityContext.allowPrivilegeEscalation: false on every container.",
    check: (pod) => each(pod, (r) => (sc(r.container, "allowPrivilegeEscalation") === false ? undefined : "allowPrivilegeEscalation is not false")),
  },
  {
    name: "pss-run-as-non-root",
    description: "Pod Security restricted: every container runs with runAsNonRoot: true (its own, else the pod's).",
    severity: "high",
    remediationSteps: "Set securityContext.runAsNonRoot: true on the pod and do not set it to false on any container.",
    check: (pod) => each(pod, (r) => (effective(pod.spec, r.container, "runAsNonRoot") === true ? undefined : `effective runAsNonRoot is ${effective(pod.spec, r.container, "runAsNonRoot") ?? "unset"}`)),
  },
  {
    name: "pss-run-as-non-root-user",
    description: "Pod Security restricted: runAsUser is never 0.",
    severity: "high",
    remediationSteps: "Set runAsUser to a non-zero UID (or leave it to the image with runAsNonRoot: true).",
    check: (pod) => {
      const out: Finding[] = pod.spec["securityContext"]?.runAsUser === 0 ? [{ message: "pod runAsUser is 0" }] : [];
      return out.concat(each(pod, (r) => (sc(r.container, "runAsUser") === 0 ? "runAsUser is 0" : undefined)));
    },
  },
  {
    name: "pss-seccomp-restricted",
    description: "Pod Security restricted: every container's effective seccomp profile is RuntimeDefault or Localhost.",
    severity: "high",
    remediationSteps: "Set securityContext.seccompProfile.type: RuntimeDefault on the pod.",
    check: (pod) => {
      const podLevel = pod.spec["securityContext"]?.seccompProfile?.type;
      const out: Finding[] = podLevel !== undefined && !GOOD_SECCOMP.includes(podLevel) ? [{ message: `pod seccompProfile.type is ${podLevel}` }] : [];
      return out.concat(each(pod, (r) => {
        const t = (effective<Obj>(pod.spec, r.container, "seccompProfile") ?? {})["type"];
        return GOOD_SECCOMP.includes(t) ? undefined : `effective seccompProfile.type is ${t ?? "unset"}`;
      }));
    },
  },
  {
    name: "pss-capabilities-drop-all",
    description: "Pod Security restricted: every container drops ALL capabilities.",
    severity: "high",
    remediationSteps: "Set securityContext.capabilities.drop: [ALL] on every container.",
    check: (pod) => each(pod, (r) => (((sc(r.container, "capabilities")?.drop ?? []) as string[]).includes("ALL") ? undefined : "capabilities.drop does not include ALL")),
  },
  {
    name: "pss-capabilities-restricted-add",
    description: "Pod Security restricted: containers add no capability other than NET_BIND_SERVICE.",
    severity: "high",
    remediationSteps: "Remove every capability but NET_BIND_SERVICE from securityContext.capabilities.add.",
    check: (pod) => each(pod, (r) => {
      const bad = ((sc(r.container, "capabilities")?.add ?? []) as string[]).filter((c) => c !== "NET_BIND_SERVICE");
      return bad.length ? `adds capabilities ${bad.join(", ")}` : undefined;
    }),
  },
];

export const podSecurityBaseline: ResourceValidationPolicy[] = baselineChecks.map((c) => podPolicy(c));
export const podSecurityRestricted: ResourceValidationPolicy[] = restrictedChecks.map((c) => podPolicy(c));
