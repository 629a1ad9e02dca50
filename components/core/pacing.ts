/**
 * Registration pacing: per-item children (one Microservice's objects, one route, one SLO) are
 * created one item per turn of the event loop instead of all in the program's first synchronous
 * pass.
 *
 * Why: the Node SDK holds every in-flight registration's Outputs, promises and serialized inputs
 * until the engine answers. Built all at once, a stack of N services keeps all N × ~17
 * registrations in flight together; under the mock runtime (the render, previews of large stacks)
 * that was 1 GiB of live heap at N = 1000 and most of the run's time went to garbage collection
 * (docs/benchmarks.md). Built a turn at a time, each item's registrations are sent before the next
 * item is built. Same resources, names, inputs, parents and dependencies; only the order in which
 * the program creates them changes.
 *
 * Safety: a paced child must never be missed by `pulumi up`, or the engine would delete it. So
 * - the program awaits `settled()` before it returns its outputs (program.ts), and
 * - while anything is queued the SDK is kept from shutting down (its own keep-alive, the one it
 *   takes around every resource operation), for programs that build these components without
 *   awaiting `settled()`;
 * - `dependsOn` a paced component waits for its children: the SDK awaits a component's
 *   `initialize` before it collects the children to depend on (runtime/dependsOn.js).
 */
import * as pulumi from "@pulumi/pulumi";

// @internal in the SDK's typings, present in its runtime (pinned in package.json; tests/pacing.test.ts
// fails if it goes away): the keep-alive the SDK holds around each resource operation.
const sdkSettings = require("@pulumi/pulumi/runtime/settings") as { rpcKeepAlive?: () => () => void };

type Task = () => void;
const queue: Task[] = [];
let running = false;
let release: (() => void) | undefined;
let idleWaiters: (() => void)[] = [];
let failures: unknown[] = [];

function pump(): void {
  const task = queue.shift();
  if (task) {
    task();
    // The next item waits for a new turn, so the microtasks of this item's registrations run first.
    setImmediate(pump);
    return;
  }
  running = false;
  const done = release;
  release = undefined;
  const waiters = idleWaiters;
  idleWaiters = [];
  waiters.forEach((w) => w());
  done?.();
}

/** Runs `build` in a later turn, after every item queued before it; resolves with its result. */
export function paced<T>(build: () => T | Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    queue.push(() => {
      try {
        resolve(build());
      } catch (error) {
        reject(error);
      }
    });
    if (!running) {
      running = true;
      release = sdkSettings.rpcKeepAlive?.();
      setImmediate(pump);
    }
  });
}

/** `xs` in consecutive slices of `size`, for pacing a few items per turn. */
export function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/**
 * Resolves once every queued item (and whatever they queued in turn) has been built, without
 * taking the failures settled() reports: for a resource whose inputs are known only then.
 */
export async function idle(): Promise<void> {
  while (running) await new Promise<void>((r) => idleWaiters.push(r));
}

/**
 * Resolves once every queued item (and whatever they queued in turn) has been built; rejects with
 * the first error a paced component's build threw since the last call.
 */
export async function settled(): Promise<void> {
  await idle();
  const [first] = failures;
  failures = [];
  if (first !== undefined) throw first;
}

/**
 * A component whose children are built a turn later (see above). The subclass's constructor does
 * what must be known at once (fields computed from its arguments) and hands the rest to
 * `later(build)`; build's result is registered as the component's outputs.
 */
export abstract class PacedComponent<T extends Record<string, unknown>> extends pulumi.ComponentResource<T | undefined> {
  private pending?: () => T | Promise<T>;
  private readonly items: Promise<unknown>[] = [];

  protected constructor(type: string, name: string, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
  }

  /** Builds the children in a later turn and returns the outputs; call once, from the constructor. */
  protected later(build: () => T | Promise<T>): void {
    this.pending = build;
  }

  /**
   * Builds one item's children (a service's SLO objects, a client's credentials) in a turn of its
   * own, after `later`'s build; the component is done, for its outputs and for `dependsOn`, once
   * every item is. Call from the constructor.
   */
  protected item<R>(build: () => R): Promise<R> {
    const built = paced(build);
    this.items.push(built);
    return built;
  }

  // Called by the SDK from within super(): it waits for its turn, by which time the subclass's
  // constructor has returned and handed over its build.
  protected override async initialize(): Promise<T | undefined> {
    try {
      const outputs = await paced(() => {
        if (!this.pending) throw new Error("a PacedComponent's constructor must call later(build)");
        return this.pending();
      });
      this.pending = undefined;
      await Promise.all(this.items);
      this.registerOutputs(outputs);
      return outputs;
    } catch (error) {
      // Reported by settled(), which the program awaits; rejecting here as well would surface the
      // same error a second time as an unhandled rejection.
      failures.push(error);
      return undefined;
    }
  }

  /** One of build's outputs, available now as an Output (with the dependencies it carries). */
  protected built<K extends keyof T>(key: K): pulumi.Output<pulumi.Unwrap<T[K]>> {
    const data = this.getData() as Promise<T | undefined>;
    return pulumi.output(data.then((d) => d?.[key])) as unknown as pulumi.Output<pulumi.Unwrap<T[K]>>;
  }
}
