import { isContainerProblem } from './containerProblem.js';
import type { ContainerChange, DockerEngine } from './docker/engine.js';
import { coerceError } from './errors.js';
import type { Logger } from './logger.js';
import { attachAliases, attachNetworks, bindingDrift, describeDrift } from './netconfig/bindings.js';
import type { ComputedProperties } from './properties/properties.js';
import type { ReplaceOutcome } from './replaceDyno.js';
import type { Dyno } from './selectDynos.js';
import type { ContainerFacts } from './types.js';

/** A dyno once its bindings were applied: its container now, and why a binding could not be applied. */
export interface BoundDyno {
  dyno: Dyno;
  /** why a binding could not be applied; the container keeps its listener but counts as failed */
  bindingFailure?: string;
}

/**
 * What a dyno's container needs before it is attached, decided from its facts and the properties. Pure:
 * - `static`: a web dyno with a static web listener is left as it is (no replacement, no attach);
 * - `replace`: its published ports (`bind-all-interfaces`) or its initial network drifted, which only a new
 *   container can change;
 * - `refused`: the same drift with NETQ_REPLACE=never, reported as a failure instead;
 * - `keep`: nothing to change.
 */
export type ReplacementPlan =
  | { kind: 'static' }
  | { kind: 'keep' }
  | { kind: 'replace'; change: ContainerChange }
  | { kind: 'refused'; reason: string };

export function replacementPlan(dyno: Dyno, props: ComputedProperties, replace: 'auto' | 'never'): ReplacementPlan {
  if (dyno.proc === 'web' && props.staticWebListener !== '') return { kind: 'static' };
  const change = bindingDrift(dyno.facts, dyno.proc, props);
  if (!change) return { kind: 'keep' };
  if (replace === 'never') return { kind: 'refused', reason: `${describeDrift(change)} (NETQ_REPLACE=never)` };
  return { kind: 'replace', change };
}

/** The attach networks a container joins or rejoins, and those it leaves. */
export interface AttachPlan {
  /** `reconnect`: on the network already without every alias, so it leaves first and joins again */
  connect: { network: string; aliases: string[]; reconnect: boolean }[];
  /** networks netq attached before (`attached:<app>`) that are no longer asked for and it is still on */
  disconnect: string[];
}

/**
 * Which attach networks a container must join, with the aliases `<app>.<proc>[.<tld>]` and
 * `<hostname>.<app>.<proc>[.<tld>]`, and which networks netq attached before it must leave. Pure. A network
 * it is on already with both aliases is left alone.
 */
export function attachPlan(
  f: ContainerFacts,
  app: string,
  proc: string,
  props: ComputedProperties,
  previouslyAttached: string[],
): AttachPlan {
  const wanted = attachNetworks(props);
  const aliases = attachAliases(app, proc, f.hostname, props.tld);
  const connect: AttachPlan['connect'] = [];
  for (const network of wanted) {
    const have = f.aliases[network];
    if (have && aliases.every((a) => have.includes(a))) continue;
    connect.push({ network, aliases, reconnect: have !== undefined });
  }
  const disconnect = previouslyAttached.filter((net) => !wanted.includes(net) && f.networks[net] !== undefined);
  return { connect, disconnect };
}

export interface BindDeps {
  docker: DockerEngine;
  /** NETQ_REPLACE: 'never' reports binding drift as a failure instead of replacing the container */
  replace: 'auto' | 'never';
  /** replaces one dyno's container (src/replaceDyno.ts: journalled, with its backoff) */
  replaceDyno: (dyno: Dyno, change: ContainerChange) => Promise<ReplaceOutcome>;
  /** where a counted binding failure is logged with its error (stack and cause) */
  log?: Logger;
  /**
   * throws (LockLostError) unless the job still holds the app's lock: asked before each change to a container
   * (a replacement, an attach, a detach), so a job that lost the app to another stops changing its containers
   */
  verifyLock: () => Promise<void>;
}

/**
 * Applies an attach plan to a container. The engine's refusal about this container or network (an error
 * status: a network that does not exist) is the container's failure, returned as its reason; any other error
 * (the engine gone, src/containerProblem.ts) is thrown, so the job is retried instead of counting it.
 */
async function applyAttachPlan(deps: BindDeps, f: ContainerFacts, plan: AttachPlan): Promise<string | undefined> {
  const problems: string[] = [];
  const counted = (what: string, err: unknown) => {
    if (!isContainerProblem(err)) throw err;
    deps.log?.warn({ err, container: f.name }, `${what}: counted as the container's failure`);
    problems.push(`${what}: ${coerceError(err).message}`);
  };
  for (const step of plan.connect) {
    await deps.verifyLock();
    try {
      if (step.reconnect) await deps.docker.disconnect(step.network, f.id);
      await deps.docker.connect(step.network, f.id, step.aliases);
    } catch (err) {
      counted(`cannot attach to ${step.network}`, err);
    }
  }
  for (const net of plan.disconnect) {
    await deps.verifyLock();
    try {
      await deps.docker.disconnect(net, f.id);
    } catch (err) {
      counted(`cannot detach from ${net}`, err);
    }
  }
  return problems.length ? problems.join('; ') : undefined;
}

/**
 * The bindings of each dyno, in order: a replacement when its published ports or initial network drifted,
 * then the attach networks. A binding that cannot be applied is the dyno's failure (its container keeps
 * serving); an engine or Redis that stops answering throws, and so does a lock the job lost (before the change).
 */
export async function bindDynos(
  deps: BindDeps,
  app: string,
  dynos: Dyno[],
  props: ComputedProperties,
  previouslyAttached: string[],
): Promise<BoundDyno[]> {
  const bound: BoundDyno[] = [];
  for (const dyno of dynos) {
    const plan = replacementPlan(dyno, props, deps.replace);
    if (plan.kind === 'static') {
      bound.push({ dyno });
      continue;
    }
    const problems: string[] = [];
    let facts = dyno.facts;
    if (plan.kind === 'refused') problems.push(plan.reason);
    else if (plan.kind === 'replace') {
      await deps.verifyLock();
      const r = await deps.replaceDyno(dyno, plan.change);
      facts = r.facts;
      if (r.failure) problems.push(r.failure);
    }
    const attachProblem = await applyAttachPlan(
      deps,
      facts,
      attachPlan(facts, app, dyno.proc, props, previouslyAttached),
    );
    if (attachProblem) problems.push(attachProblem);
    const next = { ...dyno, facts };
    bound.push(problems.length ? { dyno: next, bindingFailure: problems.join('; ') } : { dyno: next });
  }
  return bound;
}
