/** report.md sections of the running-platform proofs: flows, admission, placement, ownership, NATS access. Pure text. */
import type { RunningProofs } from "./index";

/** Past this many rows a table lists its failures and counts the rest (a 1000-service stack has thousands of flows). */
const MAX_ROWS = 200;

const cell = (s: string) => s.replace(/\|/g, "\\|");

export function runningSections(p: RunningProofs): { title: string; body: string }[] {
  const failing = (proof: string) => p.findings.filter((f) => f.proof === proof);
  const verdictLine = (proof: string, what: string) => {
    const n = failing(proof).length;
    return n ? `**${n} failure(s)**: each is a mandatory violation of \`npm run audit\`.` : `Every ${what} holds.`;
  };

  // Flows.
  const flows: string[] = [verdictLine("flows", "required flow is allowed"), ""];
  flows.push("Every flow the platform needs, evaluated against mesh enrollment, PeerAuthentication, AuthorizationPolicy (ztunnel and waypoints) and NetworkPolicy with Istio ambient's documented semantics (docs/render.md).", "");
  const byKind = new Map<string, { allowed: number; refused: number }>();
  for (const v of p.flows) {
    const k = byKind.get(v.flow.kind) ?? { allowed: 0, refused: 0 };
    if (v.allowed) k.allowed++;
    else k.refused++;
    byKind.set(v.flow.kind, k);
  }
  flows.push("| kind | allowed | refused |", "| --- | --- | --- |", ...[...byKind].map(([k, n]) => `| ${k} | ${n.allowed} | ${n.refused} |`), "");
  const grafanaPods = p.pods.some((x) => x.metadata.labels["app.kubernetes.io/name"] === "grafana");
  if (!grafanaPods && p.objects.some((o) => o.kind === "ConfigMap" && o.metadata.labels?.["grafana_datasource"] !== undefined)) {
    flows.push("**Not covered**: Grafana's datasources are rendered but Grafana's pods are not (the grafana subchart is missing from the chart cache): its flows to Prometheus, Loki and Jaeger are not evaluated here.", "");
  }
  const shown = p.flows.length <= MAX_ROWS ? p.flows.filter((v) => v.flow.kind !== "probe") : p.flows.filter((v) => !v.allowed);
  if (shown.length) {
    flows.push("| flow | to | port | verdict | why | config key |", "| --- | --- | --- | --- | --- | --- |");
    for (const v of shown) flows.push(`| ${cell(v.flow.name)} | ${cell(v.flow.to.id)} | ${v.flow.port} | ${v.allowed ? "allowed" : "**refused**"} | ${cell(v.reason)} | ${cell(v.flow.key)} |`);
    if (shown.length < p.flows.length) flows.push("", `${p.flows.length - shown.length} more flow(s) allowed${p.flows.length > MAX_ROWS ? "" : " (kubelet probes)"}; counts above.`);
  }

  // Admission.
  const adm: string[] = [];
  if (!p.admission.ran) adm.push(`**Not run**: not installed: ${p.admission.missing}. No pod was checked against Pod Security Admission.`);
  else {
    adm.push(verdictLine("admission", "pod is admitted"), "");
    adm.push(
      "Every pod that will exist, the render's and those controllers create, through Pod Security Admission at its namespace's `pod-security.kubernetes.io/enforce` level, by Kubernetes' own library (k8s.io/pod-security-admission).",
      "",
      "| pods | replicas | namespace level | verdict | made by |",
      "| --- | --- | --- | --- | --- |",
    );
    const rows = p.admission.verdicts.length <= MAX_ROWS ? p.admission.verdicts : p.admission.verdicts.filter((v) => !v.allowed || v.pods.source !== "rendered");
    for (const v of rows) adm.push(`| ${cell(v.pods.id)} | ${v.pods.replicas} | ${v.level} | ${v.allowed ? "admitted" : `**refused**: ${cell(v.forbidden.join("; "))}`} | ${cell(v.pods.source)}${v.pods.chart ? ` (chart ${v.pods.chart})` : ""} |`);
    if (rows.length < p.admission.verdicts.length) adm.push("", `${p.admission.verdicts.length - rows.length} more rendered pod set(s) admitted.`);
  }

  if (!p.kyverno.ran) adm.push("", `**Kyverno: not run**: not installed: ${p.kyverno.missing}.`);
  else {
    const refusedK = p.kyverno.verdicts.filter((v) => v.refused.length);
    const auditedK = p.kyverno.verdicts.filter((v) => v.audited.length);
    adm.push(
      "",
      `Kyverno (its CLI, \`kyverno apply\`, at the chart's version) ran the render's policies (${p.kyverno.policies.join(", ") || "none"}) on the same pods: ${refusedK.length ? `**${refusedK.length} pod set(s) refused**` : "none refused"}${auditedK.length ? `; ${auditedK.length} pod set(s) fail an Audit-mode rule (reported, not refused)` : ""}.`,
    );
    for (const v of [...refusedK, ...auditedK].slice(0, MAX_ROWS)) adm.push(`- ${cell(v.pods.id)}: ${cell([...v.refused.map((r) => `**refused** ${r}`), ...v.audited.map((a) => `audit: ${a}`)].join("; "))}`);
    for (const n of p.kyverno.notChecked) adm.push(`- not checked: ${cell(n)}`);
  }

  // Placement.
  const pl = p.placement;
  const zones = [...new Set(pl.nodes.map((n) => n.labels["topology.kubernetes.io/zone"]))];
  const place: string[] = [verdictLine("placement", "pod set is placeable and every drain keeps its budgets and quorums"), ""];
  place.push(`Cluster profile: ${pl.nodes.length} node(s) in ${zones.length} zone(s) (${zones.join(", ")}), from \`platform:cluster.zones\` and \`platform:cluster.nodesPerZone\`.`, "");
  for (const f of failing("placement")) place.push(`- **${cell(f.subject)}**: ${cell(f.message)} (${cell(f.key)})`);
  if (failing("placement").length) place.push("");
  if (pl.drainNote) place.push(`Drains not checked: ${pl.drainNote}.`, "");
  else place.push(`Drains: ${pl.drains.filter((d) => d.ok).length} of ${pl.drains.length} nodes can be drained; ${pl.budgets.length} PodDisruptionBudgets (rendered and controller-made).`, "");
  if (pl.quorums.length) place.push("| quorum | members | majority |", "| --- | --- | --- |", ...pl.quorums.map((q) => `| ${cell(q.id)} | ${q.members} | ${Math.floor(q.members / 2) + 1} |`), "");

  // Ownership and coverage.
  const own: string[] = [verdictLine("ownership", "field has one owner, every metrics endpoint is scraped and every container is sized")];
  if (failing("ownership").length) own.push("", ...failing("ownership").map((f) => `- **${cell(f.subject)}**: ${cell(f.message)} (${cell(f.key)})`));

  // NATS access on the real server.
  const acc: string[] = [];
  const n = p.nats;
  if (!n.ran && "absent" in n) acc.push("NATS is not part of this stack.");
  else if (!n.ran) acc.push(`**Not run**: not installed: ${n.missing}. NATS permissions were not tried on the server.`);
  else {
    const bad = failing("access").length;
    acc.push(bad ? `**${bad} failure(s)**: each is a mandatory violation of \`npm run audit\`.` : "Every attempt ended as the declarations say.", "");
    acc.push(
      "The render's NATS server config ran in the NATS server itself (tools/nats-authz, the chart's version); each identity connected with a client certificate naming its SPIFFE ID and tried what its declarations allow and what they do not.",
      "",
      "| identity | tries | on | declared | server | config key |",
      "| --- | --- | --- | --- | --- | --- |",
    );
    const rows = n.verdicts.length <= MAX_ROWS ? n.verdicts : n.verdicts.filter((v) => v.expected !== v.allowed);
    for (const v of rows) acc.push(`| ${cell(v.identity)} | ${v.op} | ${cell(v.target)} | ${v.expected ? "allowed" : "refused"} | ${v.allowed === v.expected ? (v.allowed ? "allowed" : "refused") : `**${v.allowed ? "allowed" : "refused"}**: ${cell(v.detail)}`} | ${cell(v.key)} |`);
    if (rows.length < n.verdicts.length) acc.push("", `${n.verdicts.length - rows.length} more attempt(s) as declared.`);
  }

  // The access matrix.
  const am: string[] = [];
  const a = p.access;
  const bad = failing("matrix");
  am.push(bad.length ? `**${bad.length} difference(s)** between the declarations and what the objects grant: each is a mandatory violation of \`npm run audit\`.` : "What the rendered objects grant equals what the services declared: nothing more, nothing less.", "");
  am.push("Per service, from its declarations; read back from the objects that enforce each line (mesh policies evaluated for every pair of services, KafkaUser ACLs, the NATS server's users, the config store's auth Job, the secret store's configurator Job, the NetworkPolicies for connections to the shared data services).", "");
  for (const n of a.notCovered) am.push(`**Not covered**: ${n}.`, "");
  const services = [...new Set(a.matrix.map((l) => l.service))].sort();
  if (services.length) {
    const col = (svc: string, ...kinds: string[]) => cell(a.matrix.filter((l) => l.service === svc && kinds.includes(l.kind)).map((l) => (l.kind === "kv-write" ? `${l.grant} (write)` : l.grant)).join("<br>") || "—");
    am.push("| service | may call | produces | consumes | NATS publish | NATS subscribe | KV buckets | config store | secrets (read) | may connect to | enforced by |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    const rows = services.slice(0, MAX_ROWS);
    for (const svc of rows) {
      const by = [...new Set(a.matrix.filter((l) => l.service === svc).map((l) => l.enforcedBy))].join("<br>");
      am.push(`| ${cell(svc)} | ${col(svc, "call")} | ${col(svc, "kafka-produce")} | ${col(svc, "kafka-consume")} | ${col(svc, "nats-publish")} | ${col(svc, "nats-subscribe")} | ${col(svc, "kv-read", "kv-write")} | ${col(svc, "store")} | ${col(svc, "secret")} | ${col(svc, "connect")} | ${cell(by)} |`);
    }
    if (rows.length < services.length) am.push("", `${services.length - rows.length} more service(s); every line is compared all the same.`);
  }
  for (const f of bad) am.push(`- **${cell(f.subject)}**: ${cell(f.message)} (${cell(f.key)})`);

  return [
    { title: "Flows", body: flows.join("\n") },
    { title: "Admission", body: adm.join("\n") },
    { title: "Placement", body: place.join("\n") },
    { title: "Ownership and coverage", body: own.join("\n") },
    { title: "NATS access", body: acc.join("\n") },
    { title: "Access matrix", body: am.join("\n") },
  ];
}
