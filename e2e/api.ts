/**
 * The little of the Kubernetes REST API the e2e check needs: discovery (kind → resource), server-side
 * apply (real or dry-run, strict field validation), create, get, list and delete, with the
 * warnings the server returns. Plain HTTPS: no client library to keep in step with the server.
 */
import * as https from "https";

export interface ApiResponse {
  readonly status: number;
  readonly body: any;
  /** The server's Warning headers (deprecations, Pod Security warn mode, unknown fields...). */
  readonly warnings: string[];
}

/** A resource as discovery names it. */
export interface ApiResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly namespaced: boolean;
}

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name?: string; readonly generateName?: string; readonly namespace?: string };
}

/** The field manager of everything the check applies: the server's managedFields name it. */
export const FIELD_MANAGER = "platform-e2e";

export class ApiClient {
  private readonly agent: https.Agent;
  private readonly resources = new Map<string, ApiResource>();

  constructor(readonly server: string, private readonly token: string, ca: Buffer) {
    this.agent = new https.Agent({ ca, keepAlive: true, maxSockets: 8 });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = https.request(
        `${this.server}${path}`,
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: "application/json",
            ...(data ? { "content-type": contentType, "content-length": data.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              /* plain text (healthz) */
            }
            const warnings: string[] = [];
            for (let i = 0; i < res.rawHeaders.length; i += 2) {
              // `Warning: 299 - "text"` (RFC 7234): the text is what the user sees.
              if (res.rawHeaders[i]!.toLowerCase() === "warning") warnings.push(res.rawHeaders[i + 1]!.replace(/^\d{3} \S+ "(.*)"$/, "$1").replace(/\\"/g, '"'));
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
          });
        },
      );
      req.on("error", reject);
      if (data) req.write(data);
      req.end();
    });
  }

  /** Reads discovery again (after CRDs are established). */
  async discover(): Promise<void> {
    this.resources.clear();
    const groups: { group: string; version: string }[] = [{ group: "", version: "v1" }];
    const apis = await this.request("GET", "/apis");
    for (const g of apis.body?.groups ?? []) for (const v of g.versions ?? []) groups.push({ group: g.name, version: v.version });
    await Promise.all(
      groups.map(async ({ group, version }) => {
        const r = await this.request("GET", group ? `/apis/${group}/${version}` : `/api/${version}`);
        for (const res of r.body?.resources ?? []) {
          if (String(res.name).includes("/")) continue; // subresources
          this.resources.set(`${group}/${version}/${res.kind}`, { group, version, resource: res.name, namespaced: !!res.namespaced });
        }
      }),
    );
  }

  /** The resource an object's apiVersion and kind map to; undefined when the server does not serve it. */
  resourceOf(o: Pick<ObjectRef, "apiVersion" | "kind">): ApiResource | undefined {
    const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
    return this.resources.get(`${group}/${version}/${o.kind}`);
  }

  collectionPath(r: ApiResource, namespace?: string): string {
    const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
    return r.namespaced && namespace ? `${base}/namespaces/${namespace}/${r.resource}` : `${base}/${r.resource}`;
  }

  private pathOf(o: ObjectRef, withName: boolean): string | { error: string } {
    const r = this.resourceOf(o);
    if (!r) return { error: `the server does not serve ${o.apiVersion} ${o.kind}` };
    if (r.namespaced && !o.metadata.namespace) return { error: `${o.kind} is namespaced and has no metadata.namespace` };
    const coll = this.collectionPath(r, r.namespaced ? o.metadata.namespace : undefined);
    return withName ? `${coll}/${encodeURIComponent(o.metadata.name ?? "")}` : coll;
  }

  /** Server-side apply (as the Pulumi Kubernetes provider does by default), strict field validation. */
  async apply(o: ObjectRef, dryRun: boolean): Promise<ApiResponse> {
    const p = this.pathOf(o, true);
    if (typeof p !== "string") return { status: 0, body: { message: p.error }, warnings: [] };
    const q = `fieldManager=${FIELD_MANAGER}&force=true&fieldValidation=Strict${dryRun ? "&dryRun=All" : ""}`;
    return this.request("PATCH", `${p}?${q}`, o, "application/apply-patch+yaml");
  }

  async create(o: ObjectRef, dryRun: boolean): Promise<ApiResponse> {
    const p = this.pathOf(o, false);
    if (typeof p !== "string") return { status: 0, body: { message: p.error }, warnings: [] };
    return this.request("POST", `${p}?fieldManager=${FIELD_MANAGER}&fieldValidation=Strict${dryRun ? "&dryRun=All" : ""}`, o);
  }

  async get(o: ObjectRef): Promise<ApiResponse> {
    const p = this.pathOf(o, true);
    if (typeof p !== "string") return { status: 0, body: { message: p.error }, warnings: [] };
    return this.request("GET", p);
  }

  async delete(o: ObjectRef): Promise<ApiResponse> {
    const p = this.pathOf(o, true);
    if (typeof p !== "string") return { status: 0, body: { message: p.error }, warnings: [] };
    // Background: dependents go through the garbage collector, as `pulumi destroy` leaves them.
    return this.request("DELETE", p, { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" });
  }
}

/** The server's own message for a refused request. */
export const messageOf = (r: ApiResponse): string => String(r.body?.message ?? (typeof r.body === "string" ? r.body : JSON.stringify(r.body))).trim();
