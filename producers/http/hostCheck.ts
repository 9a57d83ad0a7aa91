import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../src/config.js';
import { quoteInput } from '../../src/errors.js';
import { isLoopback } from './auth.js';

/**
 * The DNS-rebinding guard of `netq serve`: a request is answered only when its Host header names this
 * server. A page on evil.example whose name is re-pointed at 127.0.0.1 reaches the server with
 * `Host: evil.example:8080`, and is refused here before anything else runs (auth included).
 *
 * Accepted: the listen host of NETQ_API_LISTEN, bare or with the port the request came in on; when it is
 * a loopback address (or `localhost`), also `localhost`, `127.0.0.1` and `[::1]`, bare or with that port;
 * and NETQ_API_ALLOWED_HOSTS (a bare name matches any port, `name:port` only that port). A server on
 * 0.0.0.0 or [::] does not know which of the machine's names or addresses clients use: it answers only the
 * names configured, so such a server needs NETQ_API_ALLOWED_HOSTS.
 */

export interface HostPort {
  /** lowercase; an IPv6 address in brackets, in its shortest form */
  name: string;
  /** digits without leading zeros, or undefined when the header has none */
  port: string | undefined;
}

const NAME = /^[a-z0-9.-]+$/;

/** `[v6]` in the form a browser sends it (`[0:0::1]` → `[::1]`), or undefined for anything else. */
function ipv6Name(inBrackets: string): string | undefined {
  if (!/^\[[0-9a-f:.]+\]$/.test(inBrackets)) return undefined;
  try {
    return new URL(`http://${inBrackets}/`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Splits a Host header (or a host of NETQ_API_ALLOWED_HOSTS) into name and port: `name`, `name:port`,
 * `[v6]`, `[v6]:port`; a bare v6 address without brackets only when `bareIpv6` (configuration may spell it
 * so, a Host header never does). Undefined when it is none of these.
 */
export function parseHostPort(value: string, bareIpv6 = false): HostPort | undefined {
  const v = value.trim().toLowerCase();
  let name: string | undefined;
  let rest: string;
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0) return undefined;
    name = ipv6Name(v.slice(0, end + 1));
    rest = v.slice(end + 1);
  } else if (bareIpv6 && (v.match(/:/g)?.length ?? 0) > 1) {
    name = ipv6Name(`[${v}]`);
    rest = '';
  } else {
    const colon = v.indexOf(':');
    const host = colon < 0 ? v : v.slice(0, colon);
    name = NAME.test(host) ? host : undefined;
    rest = colon < 0 ? '' : v.slice(colon);
  }
  if (name === undefined) return undefined;
  if (rest === '') return { name, port: undefined };
  const m = rest.match(/^:(\d{1,5})$/);
  if (!m?.[1] || Number(m[1]) > 65535) return undefined;
  return { name, port: String(Number(m[1])) };
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** The listen host as a Host header names it: IPv6 in brackets, lowercase. */
function listenName(host: string): string | undefined {
  return host.includes(':') ? ipv6Name(`[${host.toLowerCase()}]`) : host.toLowerCase();
}

/**
 * A predicate on Host headers for this config; `port` is the port the request came in on (the listen
 * port, also when NETQ_API_LISTEN asked for port 0).
 */
export function hostMatcher(config: Pick<Config, 'apiListen' | 'apiAllowedHosts'>) {
  const { host } = config.apiListen;
  const own = new Set<string>();
  const listen = listenName(host);
  if (listen !== undefined && listen !== '0.0.0.0' && listen !== '[::]') own.add(listen);
  if (host.toLowerCase() === 'localhost' || isLoopback(host)) for (const n of LOOPBACK_NAMES) own.add(n);
  const allowed = config.apiAllowedHosts.flatMap((h) => parseHostPort(h, true) ?? []);
  return (header: string | undefined, port: number): boolean => {
    if (header === undefined) return false;
    const h = parseHostPort(header);
    if (h === undefined) return false;
    if (own.has(h.name) && (h.port === undefined || h.port === String(port))) return true;
    return allowed.some((a) => a.name === h.name && (a.port === undefined || a.port === h.port));
  };
}

/** onRequest hook, the first of the server: 421 for a Host header that does not name this server. */
export function hostHook(config: Pick<Config, 'apiListen' | 'apiAllowedHosts'>) {
  const matches = hostMatcher(config);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.host;
    const port = request.socket.localPort ?? config.apiListen.port;
    if (matches(header, port)) return;
    request.log.info({ host: header?.slice(0, 100) }, 'refused: Host header not answered (DNS rebinding guard)');
    const shown = header === undefined ? '(none)' : quoteInput(header, 100);
    return reply
      .code(421)
      .send({ error: `Host header ${shown} is not one this server answers (NETQ_API_ALLOWED_HOSTS)` });
  };
}
