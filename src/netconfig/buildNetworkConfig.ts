import type { ComputedProperties } from '../properties/properties.js';
import {
  type ContainerFacts,
  type ContainerNetworkConfig,
  type Failure,
  LABEL_DYNO,
  LABEL_PROCESS_TYPE,
} from '../types.js';

export type BuildOutcome = { ok: true; config: ContainerNetworkConfig } | { ok: false; failure: Failure };

const DEFAULT_PORT = 5000;
const PROC_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Process type and index from the dyno label (`web.1`), else the container name `<app>.<proc>.<index>`. */
export function processOf(facts: ContainerFacts, app: string): { proc: string; index: number } | undefined {
  const dyno = facts.labels[LABEL_DYNO];
  const m = dyno?.match(/^([A-Za-z0-9_-]+)\.(\d+)$/);
  if (m?.[1] && m[2]) return { proc: m[1], index: Number(m[2]) };
  const prefix = `${app}.`;
  if (facts.name.startsWith(prefix)) {
    const rest = facts.name.slice(prefix.length).match(/^([A-Za-z0-9_-]+)\.(\d+)$/);
    if (rest?.[1] && rest[2]) {
      const labelled = facts.labels[LABEL_PROCESS_TYPE];
      if (labelled === undefined || labelled === rest[1]) return { proc: rest[1], index: Number(rest[2]) };
    }
  }
  return undefined;
}

/**
 * PORT from the environment, else the first exposed TCP port, else 5000. An empty `PORT=` is unset: Dokku
 * gives it to every process but web.
 */
export function portOf(facts: ContainerFacts): number | string {
  if (facts.portEnv !== undefined && facts.portEnv.trim() !== '') {
    const p = facts.portEnv.trim();
    if (!/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535)
      return `PORT=${JSON.stringify(facts.portEnv)} is not a TCP port`;
    return Number(p);
  }
  return facts.exposedTcpPorts[0] ?? DEFAULT_PORT;
}

/** Splits a static web listener (`host:port` or a bare IP) into host and port. */
export function parseStaticListener(value: string, port: number): { ip: string; port: number } {
  const v6 = value.match(/^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/);
  if (v6?.[1] && v6[2]) return { ip: v6[1], port: Number(v6[2]) };
  const m = value.match(/^(.*):(\d{1,5})$/);
  if (m?.[1] && m[2] && !m[1].includes(':')) return { ip: m[1], port: Number(m[2]) };
  return { ip: value, port };
}

/** The network whose IP is a container's address: the initial network, else the one it was created on. */
export function addressNetwork(facts: ContainerFacts, props: ComputedProperties): string {
  if (props.initialNetwork !== '') return props.initialNetwork;
  const mode = facts.networkMode;
  if (mode === 'default' || mode === 'bridge' || mode === '' || mode.startsWith('container:')) return 'bridge';
  return mode;
}

/**
 * Builds one container's network config, or the reason it cannot be built. Pure. The dyno is the one given
 * (Dokku mode: from its CONTAINER file), else the one the container's labels or name tell.
 */
export function buildNetworkConfig(
  facts: ContainerFacts,
  app: string,
  props: ComputedProperties,
  identity: { proc: string; index: number } | undefined = processOf(facts, app),
): BuildOutcome {
  const fail = (reason: string): BuildOutcome => ({ ok: false, failure: { container: facts.name, reason } });
  if (!identity || !PROC_PATTERN.test(identity.proc)) {
    return fail(`cannot tell process type and index (no ${LABEL_DYNO} label, name is not <app>.<proc>.<index>)`);
  }
  if (!facts.running) return fail(`container is ${facts.state}, not running`);
  const port = portOf(facts);
  if (typeof port === 'string') return fail(port);
  const make = (ip: string, p: number): BuildOutcome => ({
    ok: true,
    config: { container: facts.name, id: facts.id, ...identity, ip, port: p, listener: `${ip}:${p}` },
  });

  if (identity.proc === 'web' && props.staticWebListener !== '') {
    const s = parseStaticListener(props.staticWebListener, port);
    return make(s.ip, s.port);
  }
  if (facts.networkMode === 'host') return make('127.0.0.1', port);
  if (facts.networkMode === 'none') return fail('network mode is none: the container has no IP address');
  const network = addressNetwork(facts, props);
  const ip = facts.networks[network];
  if (ip === undefined) return fail(`not attached to network ${network}`);
  if (ip === '') return fail(`no IP address on network ${network}`);
  return make(ip, port);
}

/** Listeners per process type, each list ordered by index so that a reordering is no change. */
export function listenersOf(configs: ContainerNetworkConfig[]): Record<string, string[]> {
  const byProc = new Map<string, ContainerNetworkConfig[]>();
  for (const c of configs) byProc.set(c.proc, [...(byProc.get(c.proc) ?? []), c]);
  const out: Record<string, string[]> = {};
  for (const proc of [...byProc.keys()].sort()) {
    out[proc] = (byProc.get(proc) ?? []).sort((a, b) => a.index - b.index).map((c) => c.listener);
  }
  return out;
}
