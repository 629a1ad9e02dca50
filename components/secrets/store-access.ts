/**
 * Who may read what in the secret store, derived from the services' `secrets` declarations (like
 * the Kafka ACLs from `produces`/`consumes`): one Vault policy and one Kubernetes auth role per
 * declaring service, granting `read` on exactly the paths it declared, all below its own prefix.
 * Pure, so the property tests and the report read the same derivation the Job applies.
 */
import type { PlatformConfig, ServiceConfig } from "../../config/schema";

/** The KV v2 mount the platform's secrets live in. */
export const KV_MOUNT = "secret";
/** Vault's Kubernetes auth mount. */
export const K8S_AUTH_MOUNT = "kubernetes";
/** The audience the tokens External Secrets requests for a service carry, and the only one its role accepts. */
export const STORE_AUDIENCE = "vault";
/** Prefix of the policies and roles the configurator owns (it deletes those of this prefix nothing declares). */
export const SERVICE_ACCESS_PREFIX = "svc-";
/** The configurator Job's ServiceAccount, policy and role (created once by the bootstrap). */
export const CONFIGURATOR = "vault-configurator";
/** Where the file audit device writes (the chart's audit volume). */
export const AUDIT_LOG_PATH = "/vault/audit/audit.log";

/** Prefix of the policies and roles that let each component's SecretStore read its own generated secrets. */
export const PLATFORM_ACCESS_PREFIX = "pf-";
/** The policy of the token `pulumi up` writes the platform's generated secrets with. */
export const WRITER_POLICY = "platform-writer";
/** Where the platform's generated secrets live (below the mount): `platform/<namespace>/<Secret name>`. */
export const PLATFORM_SECRETS_PREFIX = "platform";

/** The store path (below the mount) of one generated Secret. */
export const platformSecretPathOf = (namespace: string, secret: string): string => `${PLATFORM_SECRETS_PREFIX}/${namespace}/${secret}`;

/**
 * The writer's policy: write, read back (Pulumi refreshes what it wrote) and delete the platform's
 * secrets, nothing else: no service's secret, no policy, no auth.
 */
export function writerPolicyHcl(): string {
  return [
    `path "${KV_MOUNT}/data/${PLATFORM_SECRETS_PREFIX}/*" {\n  capabilities = ["create", "update", "read", "delete"]\n}\n`,
    `path "${KV_MOUNT}/metadata/${PLATFORM_SECRETS_PREFIX}/*" {\n  capabilities = ["read", "delete"]\n}\n`,
  ].join("");
}

/** The store path (below the mount) of one declared secret: always below the service's own prefix. */
export const storePathOf = (service: string, path: string): string => `services/${service}/${path}`;

/** The policy and role name of a service. */
export const accessNameOf = (service: string): string => `${SERVICE_ACCESS_PREFIX}${service}`;

/** The Secret External Secrets writes for a service. */
export const storeSecretNameOf = (service: string): string => `${service}-store`;

/** One service's access to the store. */
export interface ServiceStoreAccess {
  readonly service: string;
  readonly namespace: string;
  /** The ServiceAccount the role binds (the service's own, as Microservice names it). */
  readonly serviceAccount: string;
  /** Policy and role name. */
  readonly name: string;
  /** KV v2 data paths (`secret/data/...`) the policy grants `read` on, sorted, each once. */
  readonly readPaths: readonly string[];
  /** The secrets: env/file name → store path (below the mount), field and delivery. */
  readonly entries: readonly { readonly name: string; readonly path: string; readonly key: string; readonly as: "env" | "file" }[];
}

/** Every declaring service's access, sorted by service (a service without `secrets` gets none). */
export function storeAccess(services: Readonly<Record<string, ServiceConfig>>): ServiceStoreAccess[] {
  return Object.entries(services)
    .filter(([, s]) => Object.keys(s.secrets).length > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, s]) => {
      const entries = Object.entries(s.secrets)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, v]) => ({ name, path: storePathOf(service, v.path), key: v.key, as: v.as }));
      return {
        service,
        namespace: s.namespace,
        serviceAccount: service,
        name: accessNameOf(service),
        readPaths: [...new Set(entries.map((e) => `${KV_MOUNT}/data/${e.path}`))].sort(),
        entries,
      };
    });
}

/** A Vault policy (HCL) granting `read` on each path and nothing else. */
export function policyHcl(readPaths: readonly string[]): string {
  return readPaths.map((p) => `path "${p}" {\n  capabilities = ["read"]\n}\n`).join("");
}

/** The paths a policy written by policyHcl grants, with their capabilities (the inverse, for the tests and the audit). */
export function parsePolicyHcl(hcl: string): { path: string; capabilities: string[] }[] {
  const out: { path: string; capabilities: string[] }[] = [];
  for (const m of hcl.matchAll(/path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}/g)) {
    out.push({ path: m[1]!, capabilities: [...m[2]!.matchAll(/"([^"]+)"/g)].map((c) => c[1]!) });
  }
  return out;
}

/**
 * What the configurator Job may do (written once by the bootstrap, docs/secrets.md): enable the KV
 * mount and the file audit device, and manage only the `svc-` policies and roles. It cannot read
 * any secret, nor change its own policy.
 */
export function configuratorPolicyHcl(): string {
  const rule = (path: string, caps: string[]) => `path "${path}" {\n  capabilities = [${caps.map((c) => `"${c}"`).join(", ")}]\n}\n`;
  return [
    rule("sys/mounts", ["read"]),
    rule(`sys/mounts/${KV_MOUNT}`, ["create", "update", "read"]),
    rule("sys/audit", ["read", "sudo"]),
    rule("sys/audit/file", ["create", "update", "sudo"]),
    rule("sys/policies/acl", ["list"]),
    rule(`sys/policies/acl/${SERVICE_ACCESS_PREFIX}*`, ["create", "update", "read", "delete"]),
    rule(`auth/${K8S_AUTH_MOUNT}/role`, ["list"]),
    rule(`auth/${K8S_AUTH_MOUNT}/role/${SERVICE_ACCESS_PREFIX}*`, ["create", "update", "read", "delete"]),
    // The readers of the platform's own secrets (components/secrets/platform-secrets.ts).
    rule(`sys/policies/acl/${PLATFORM_ACCESS_PREFIX}*`, ["create", "update", "read", "delete"]),
    rule(`auth/${K8S_AUTH_MOUNT}/role/${PLATFORM_ACCESS_PREFIX}*`, ["create", "update", "read", "delete"]),
  ].join("");
}

/** Role settings of a reader (a service, or a component's reader of the platform's secrets): its ServiceAccount in its namespace, the store audience, short-lived tokens. */
export function roleArgs(a: Pick<ServiceStoreAccess, "serviceAccount" | "namespace" | "name">): string[] {
  return [
    `bound_service_account_names=${a.serviceAccount}`,
    `bound_service_account_namespaces=${a.namespace}`,
    `audience=${STORE_AUDIENCE}`,
    `token_policies=${a.name}`,
    "token_ttl=15m",
    "token_max_ttl=1h",
  ];
}

/**
 * The store's own bootstrap, the one manual step (report.md and docs/secrets.md print it): init and
 * unseal, Kubernetes auth, the configurator's policy and role, then the root token revoked.
 */
export function bootstrapCommands(a: { readonly namespace: string; readonly replicas: number; readonly platformSecrets: boolean }): string[] {
  const ex = (pod: string, cmd: string) => `kubectl -n ${a.namespace} exec ${pod} -- ${cmd}`;
  const pods = Array.from({ length: a.replicas }, (_, i) => `vault-${i}`);
  return [
    `${ex("vault-0", "vault operator init -key-shares=5 -key-threshold=3")}   # keep the unseal keys and the root token offline, apart`,
    ...pods.map((p) => `${ex(`-it ${p}`, "vault operator unseal")}   # three times, three different keys${p === "vault-0" ? "" : " (after it has joined the raft cluster)"}`),
    `${ex("-it vault-0", "sh")}   # then, inside, with VAULT_TOKEN=<root token>:`,
    `vault auth enable ${K8S_AUTH_MOUNT}`,
    `vault write auth/${K8S_AUTH_MOUNT}/config kubernetes_host=https://kubernetes.default.svc:443`,
    `vault policy write ${CONFIGURATOR} - <<'EOF'\n${configuratorPolicyHcl()}EOF`,
    `vault write auth/${K8S_AUTH_MOUNT}/role/${CONFIGURATOR} bound_service_account_names=${CONFIGURATOR} bound_service_account_namespaces=${a.namespace} audience=${STORE_AUDIENCE} token_policies=${CONFIGURATOR} token_ttl=10m`,
    ...(a.platformSecrets
      ? [
          // `pulumi up` writes the platform's generated secrets (secrets.platformSecrets) with this token only.
          `vault secrets list | grep -q '^${KV_MOUNT}/' || vault secrets enable -path=${KV_MOUNT} -version=2 kv`,
          `vault policy write ${WRITER_POLICY} - <<'EOF'\n${writerPolicyHcl()}EOF`,
          `vault token create -orphan -policy=${WRITER_POLICY} -period=24h -display-name=${WRITER_POLICY}   # the writer token: VAULT_TOKEN for pulumi up (docs/secrets.md); renew it within the period`,
        ]
      : []),
    "vault token revoke -self   # once the services' secrets are written (or keep a writer policy of your own for that)",
  ];
}

/**
 * How `pulumi up` reaches the store to write the platform's generated secrets: a port-forward to the
 * address `secrets.platformSecrets.address` names, the store's CA, the writer token from the
 * bootstrap (the Vault provider's own VAULT_* variables: nothing in the program or its config).
 */
export function writerCommands(a: { readonly namespace: string; readonly address: string }): string[] {
  const port = new URL(a.address).port || "443";
  return [
    `kubectl -n ${a.namespace} port-forward svc/vault ${port}:8200 &   # or any route to ${a.address} the store's certificate names`,
    `kubectl -n ${a.namespace} get secret vault-tls -o jsonpath='{.data.ca\\.crt}' | base64 -d > vault-ca.crt`,
    "export VAULT_CACERT=$PWD/vault-ca.crt VAULT_TOKEN=<the writer token>",
    "pulumi up",
  ];
}

/** Whether the stack runs the store (and so the operator and the per-service objects). */
export const storeEnabled = (c: Pick<PlatformConfig, "secrets">): boolean => c.secrets.enabled;
