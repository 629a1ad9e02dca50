/**
 * The shape every pod-spec policy shares: find the pod template of any workload kind, run a check
 * over it, and report each finding unless an exemption (namespace + name + container) covers it.
 */
import type { PolicyConfigSchema, ReportViolation, ResourceValidationArgs, Severity } from "@pulumi/policy";
import { configOf, Exemption, exemptionFor, exemptionsOnly, reportOrExempt } from "./config";
import { containersOf, ContainerRef, isWorkloadType, metadataOf, Obj, parseType, podTemplate, PodTemplate } from "./k8s";
import type { TypeScopedPolicy } from "./type-scope";

/** One thing wrong with a pod spec; `container` is the container's name, absent for pod-level fields. */
export interface Finding {
  readonly container?: string;
  /** Where in the pod, e.g. `initContainers[setup]`. */
  readonly at?: string;
  readonly message: string;
}

/** Where a policy's findings point: kind namespace/name. */
export interface ObjectLabel {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly label: string;
}

/**
 * A workload's pod template as the pod checks read it, shared by every pod policy of one resource
 * (policy/memo.ts): each part is computed on first read, in the order a policy reads it, so an
 * unknown value met during preview surfaces where it did when each policy computed its own.
 */
export class PodView implements PodTemplate {
  private labelOf?: ObjectLabel;
  private refs?: readonly ContainerRef[];
  constructor(
    private readonly type: string,
    private readonly props: Obj,
    private readonly pod: PodTemplate,
  ) {}
  get metadata(): Obj {
    return this.pod.metadata;
  }
  get spec(): Obj {
    return this.pod.spec;
  }
  /** Every container: containers, initContainers and ephemeralContainers. */
  get containers(): readonly ContainerRef[] {
    return (this.refs ??= Object.freeze(containersOf(this.pod.spec)));
  }
  get where(): ObjectLabel {
    return (this.labelOf ??= Object.freeze(objectLabel(this.type, this.props)));
  }
}

const views = new WeakMap<object, { readonly type: string; readonly view: PodView | undefined }>();
/** The pod view of a workload's props (undefined: no pod template), once per props object. */
export function podViewOf(type: string, props: Obj): PodView | undefined {
  const hit = views.get(props);
  if (hit && hit.type === type) return hit.view;
  const pod = podTemplate(type, props);
  const view = pod && new PodView(type, props, pod);
  views.set(props, { type, view });
  return view;
}

export interface PodCheck<C extends object = { exemptions: Exemption[] }> {
  readonly name: string;
  readonly description: string;
  readonly severity: Severity;
  readonly remediationSteps: string;
  /** Defaults to exemptions only. Every schema should carry `exemptions`. */
  readonly configSchema?: PolicyConfigSchema;
  readonly check: (pod: PodView, config: C) => Finding[];
}

/** Where a policy's findings point: kind namespace/name. */
export function objectLabel(type: string, props: Obj): ObjectLabel {
  const kind = parseType(type)?.kind ?? type;
  const m = metadataOf(props);
  const namespace = m.namespace ?? "default";
  const name = m.name ?? "?";
  return { kind, namespace, name, label: `${kind} ${namespace}/${name}` };
}

/** Kinds that never have a pod template (podTemplate is undefined for every props of them). */
const noPodTemplate = (type: string): string | undefined => (isWorkloadType(type) ? undefined : `${type} has no pod template`);

/** A CrossGuard resource policy running `check` over the pod template of every workload kind. */
export function podPolicy<C extends { exemptions: Exemption[] }>(c: PodCheck<C>): TypeScopedPolicy {
  const schema = c.configSchema ?? exemptionsOnly;
  return {
    name: c.name,
    description: c.description,
    severity: c.severity,
    remediationSteps: c.remediationSteps,
    configSchema: schema,
    notApplicableToType: noPodTemplate,
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
      const pod = podViewOf(args.type, args.props);
      if (!pod) args.notApplicable(`${args.type} has no pod template`);
      const cfg = configOf<C>(schema, args.getConfig());
      const where = pod.where;
      for (const f of c.check(pod, cfg)) {
        const at = f.at ? `${where.label} ${f.at}` : f.container ? `${where.label} container ${f.container}` : where.label;
        reportOrExempt(report, `${at}: ${f.message}`, exemptionFor(cfg.exemptions, where.namespace, where.name, f.container));
      }
    },
  };
}

/** Runs `f` on every container (all three lists); each message becomes a finding for that container. */
export function perContainer(pod: Pick<PodView, "containers">, f: (r: ContainerRef) => string | undefined): Finding[] {
  const out: Finding[] = [];
  const refs = pod.containers;
  for (let i = 0; i < refs.length; i++) {
    const r = refs[i]!;
    const message = f(r);
    if (message) out.push({ container: r.container.name, at: r.label, message });
  }
  return out;
}
