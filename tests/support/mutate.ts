import { isKubernetesObject } from "../../render/gitops";
import type { RecordedResource } from "../../render/harness";
import type { Rendered } from "../../render/render";

type Inputs = Record<string, any>;

/** The render's registrations with the objects `pick` selects changed by `change` (deep copies; the render is untouched). */
export function mutated(r: Rendered, pick: (o: Inputs) => boolean, change: (o: Inputs) => void): RecordedResource[] {
  let hits = 0;
  const out = r.run.resources.map((res) => {
    if (!isKubernetesObject(res) || !pick(res.inputs as Inputs)) return res;
    hits++;
    const inputs = structuredClone(res.inputs) as Inputs;
    change(inputs);
    return { ...res, inputs };
  });
  if (!hits) throw new Error("the mutation matched no object");
  return out;
}
