/**
 * A local Kubernetes control plane for the e2e check: etcd and kube-apiserver, both Kubernetes' and
 * etcd's own code built by scripts/install-tools.sh from the Go module proxy, on loopback, with the
 * flags a kubeadm cluster runs (admission plugins by default plus NodeRestriction, so Pod Security,
 * ServiceAccount, Priority, LimitRanger, ResourceQuota and ValidatingAdmissionPolicy all judge what
 * we send), and kube-controller-manager, so Deployments, ReplicaSets, StatefulSets and Jobs create
 * their pods through the real controllers and admission, and deletion runs through the real
 * garbage and namespace collectors. No scheduler, no kubelet: pods are admitted and stay Pending
 * (docs/e2e.md).
 */
import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { findTool } from "../render/tools";
import { ApiClient } from "./api";

/** The binaries the control plane needs, with the variable that overrides each one's path. */
export const CONTROL_PLANE_TOOLS = [
  { name: "etcd", env: "PLATFORM_ETCD" },
  { name: "kube-apiserver", env: "PLATFORM_KUBE_APISERVER" },
  { name: "kube-controller-manager", env: "PLATFORM_KUBE_CONTROLLER_MANAGER" },
] as const;

/** The binaries found, or the names of those missing (reported as missing, never as a failed check). */
export function controlPlaneTools(): { etcd: string; apiserver: string; controllerManager: string } | { missing: string[] } {
  const found = CONTROL_PLANE_TOOLS.map((t) => findTool(t.name, t.env));
  const missing = CONTROL_PLANE_TOOLS.filter((_, i) => !found[i]).map((t) => t.name);
  if (missing.length) return { missing };
  return { etcd: found[0]!, apiserver: found[1]!, controllerManager: found[2]! };
}

export interface LocalCluster {
  readonly client: ApiClient;
  /** The API server's version as it reports it (gitVersion). */
  readonly version: string;
  /** Where the logs are, for a failure message. */
  readonly dir: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function started(cmd: string, args: string[], log: string): ChildProcess {
  const out = fs.openSync(log, "w");
  const p = spawn(cmd, args, { stdio: ["ignore", out, out] });
  fs.closeSync(out);
  return p;
}

const tail = (file: string, n = 15) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n").slice(-n).join("\n") : "(no log)");

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on loopback, with a
 * certificate, service-account key and admin token made for this run; resolves when the API server
 * is ready. Throws naming the missing binaries, or with the failing process's log.
 */
export async function startCluster(opts: { dir?: string } = {}): Promise<LocalCluster> {
  const tools = controlPlaneTools();
  if ("missing" in tools) throw new Error(`not installed: ${tools.missing.join(", ")} (scripts/install-tools.sh builds them from the Go module proxy)`);
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "platform-e2e-"));
  fs.mkdirSync(dir, { recursive: true });
  const procs: ChildProcess[] = [];
  let client: ApiClient | undefined;
  const stop = async () => {
    client?.close();
    for (const p of procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill("SIGTERM");
        // An unref'd timer: a process that exits in time leaves nothing pending behind it.
        await Promise.race([new Promise((r) => p.once("exit", r)), new Promise((r) => setTimeout(r, 5000).unref())]);
        if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
      }
    }
  };
  try {
    const [etcdClient, etcdPeer, apiPort, cmPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    procs.push(
      started(tools.etcd, [
        "--name", "e2e", "--data-dir", path.join(dir, "etcd"),
        "--listen-client-urls", `http://127.0.0.1:${etcdClient}`, "--advertise-client-urls", `http://127.0.0.1:${etcdClient}`,
        "--listen-peer-urls", `http://127.0.0.1:${etcdPeer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${etcdPeer}`,
        "--initial-cluster", `e2e=http://127.0.0.1:${etcdPeer}`, "--log-level", "warn",
      ], path.join(dir, "etcd.log")),
    );

    // The service-account signing key and the admin token exist only for this run.
    const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const saKey = path.join(dir, "sa.key");
    fs.writeFileSync(saKey, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    const token = crypto.randomBytes(24).toString("hex");
    fs.writeFileSync(path.join(dir, "tokens.csv"), `${token},e2e-admin,e2e-admin,"system:masters"\n`, { mode: 0o600 });
    const certDir = path.join(dir, "certs");
    procs.push(
      started(tools.apiserver, [
        "--etcd-servers", `http://127.0.0.1:${etcdClient}`,
        "--bind-address", "127.0.0.1", "--secure-port", String(apiPort), "--cert-dir", certDir,
        "--token-auth-file", path.join(dir, "tokens.csv"),
        "--service-account-key-file", saKey, "--service-account-signing-key-file", saKey,
        "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range", "10.96.0.0/16",
        // As kubeadm: Node and RBAC authorization, the default admission plugins plus NodeRestriction.
        "--authorization-mode", "Node,RBAC", "--enable-admission-plugins", "NodeRestriction",
        "--allow-privileged=true",
      ], path.join(dir, "kube-apiserver.log")),
    );
    const ca = await waitFor(() => (fs.existsSync(path.join(certDir, "apiserver.crt")) ? fs.readFileSync(path.join(certDir, "apiserver.crt")) : undefined), 60_000, () => `kube-apiserver wrote no certificate:\n${tail(path.join(dir, "kube-apiserver.log"))}`, procs);
    const api = new ApiClient(`https://127.0.0.1:${apiPort}`, token, ca);
    client = api;
    await waitFor(async () => ((await api.request("GET", "/readyz").catch(() => undefined))?.status === 200 ? true : undefined), 120_000, () => `kube-apiserver did not become ready:\n${tail(path.join(dir, "kube-apiserver.log"))}\netcd:\n${tail(path.join(dir, "etcd.log"), 5)}`, procs);
    const version = String((await api.request("GET", "/version")).body?.gitVersion ?? "unknown");

    {
      const kubeconfig = path.join(dir, "kubeconfig");
      fs.writeFileSync(kubeconfig, kubeconfigYaml(client.server, path.join(certDir, "apiserver.crt"), token), { mode: 0o600 });
      procs.push(
        started(tools.controllerManager, [
          "--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
          "--bind-address", "127.0.0.1", "--secure-port", String(cmPort), "--cert-dir", path.join(dir, "cm-certs"),
          "--service-account-private-key-file", saKey, "--root-ca-file", path.join(certDir, "apiserver.crt"),
          "--use-service-account-credentials=true", "--leader-elect=false",
          "--controllers", "*,-nodeipam,-nodelifecycle,-persistentvolume-binder,-attachdetach,-persistentvolume-expander,-cloud-node-lifecycle,-ttl",
          "--cluster-cidr", "10.244.0.0/16", "--service-cluster-ip-range", "10.96.0.0/16",
        ], path.join(dir, "kube-controller-manager.log")),
      );
    }
    return { client: api, version, dir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, ms: number, why: () => string, procs: ChildProcess[]): Promise<T> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const dead = procs.find((p) => p.exitCode !== null || p.signalCode !== null);
    if (dead) throw new Error(`${path.basename(String(dead.spawnfile))} exited (${dead.exitCode ?? dead.signalCode}): ${why()}`);
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(250);
  }
  throw new Error(why());
}

function kubeconfigYaml(server: string, caFile: string, token: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "e2e", cluster: { server, "certificate-authority": caFile } }],
    users: [{ name: "e2e-admin", user: { token } }],
    contexts: [{ name: "e2e", context: { cluster: "e2e", user: "e2e-admin" } }],
    "current-context": "e2e",
  });
}
