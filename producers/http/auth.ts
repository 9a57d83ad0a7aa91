import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../src/config.js';
import { quoteInput } from '../../src/errors.js';

/**
 * Bearer-token auth of `netq serve`, the rule for the dashboard's writes (none without a token, none from
 * another site), and the rule that keeps a server without a token on loopback.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** true: served without the token (only /healthz) */
    public?: boolean;
  }
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * The credential an Authorization header carries: `Bearer <token>`; on the dashboard also
 * `Basic base64(<any user>:<token>)`, which is what a browser sends after its login prompt.
 */
export function credentialOf(header: string | undefined, allowBasic: boolean): string | undefined {
  const m = header?.match(/^(Bearer|Basic)[ \t]+(\S+)[ \t]*$/i);
  if (!m?.[1] || !m[2]) return undefined;
  if (m[1].toLowerCase() === 'bearer') return m[2];
  if (!allowBasic) return undefined;
  const decoded = Buffer.from(m[2], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** Compares in constant time: SHA-256 digests are always 32 bytes, so timingSafeEqual never sees lengths differ. */
export function tokenChecker(token: string): (presented: string | undefined) => boolean {
  const expected = sha256(token);
  return (presented) => {
    const same = timingSafeEqual(sha256(presented ?? ''), expected);
    return presented !== undefined && same;
  };
}

const DASHBOARD = /^\/ui(\/|$)/;

/**
 * onRequest hook: every matched route except those marked public needs the token. Requests that
 * match no route get the JSON 404 without it (it tells nothing). Nothing runs before this hook.
 */
export function authHook(token: string) {
  const matches = tokenChecker(token);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.is404 || request.routeOptions.config.public === true) return;
    const dashboard = DASHBOARD.test(request.routeOptions.url ?? '');
    if (matches(credentialOf(request.headers.authorization, dashboard))) return;
    request.log.info({ url: request.url }, 'refused: missing or wrong token');
    return reply
      .code(401)
      .header('www-authenticate', dashboard ? 'Basic realm="netq", charset="UTF-8"' : 'Bearer realm="netq"')
      .send({ error: 'missing or wrong bearer token (Authorization: Bearer <NETQ_API_TOKEN>)' });
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** The host of an Origin or Referer URL as a Host header would name it (no default port), or undefined. */
function hostOfUrl(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : undefined;
  } catch {
    return undefined; // `Origin: null` (a sandboxed frame, a data: page) included
  }
}

/** `name:80` as `name`: a browser leaves the default port out of Origin, a Host header may carry it. */
const withoutDefaultPort = (host: string) => host.toLowerCase().replace(/:(80|443)$/, '');

/** Whether a host (`name[:port]`) names this server; `port` is the one the request came in on. */
export type OwnHost = (host: string, port: number) => boolean;

/**
 * The Origin (or, when a browser sent none, the Referer) of a request from a page of another site, or
 * undefined. Same site: its host is the request's Host header, or another name the Host check answers
 * (a proxy may pass `Host: 127.0.0.1:8080` for a page of netq.example.com in NETQ_API_ALLOWED_HOSTS). A
 * request with neither header is not a browser's (browsers send Origin with every POST, PUT, PATCH and
 * DELETE), and passes.
 */
export function crossSite(request: FastifyRequest, ownHost: OwnHost): string | undefined {
  const source = request.headers.origin ?? request.headers.referer;
  if (source === undefined) return undefined;
  const from = hostOfUrl(source);
  if (from === undefined) return source;
  const host = request.headers.host;
  if (host !== undefined && withoutDefaultPort(from) === withoutDefaultPort(host)) return undefined;
  return ownHost(from, request.socket.localPort ?? 0) ? undefined : source;
}

/**
 * onRequest hook, after the Host check and before the token, on every write (every method but GET and HEAD).
 * The dashboard's writes (retry, remove, promote, clean, pause… under /ui) need NETQ_API_TOKEN: without one
 * the dashboard is read-only (403), as a loopback server without a token would otherwise let any local
 * process, or any web page the operator opens, change jobs. And any write from a page of another site (its
 * Origin, else its Referer, names another server) is refused (403): the browser would attach the Basic
 * credentials it keeps for /ui, and a loopback server without a token would take a bodiless cross-site POST
 * to /v1 as a rebuild request.
 */
export function dashboardWriteHook(tokenConfigured: boolean, ownHost: OwnHost) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (SAFE_METHODS.has(request.method)) return;
    const path = request.url.split('?')[0] ?? '';
    const dashboard = DASHBOARD.test(request.routeOptions.url ?? '') || DASHBOARD.test(path);
    if (dashboard && !tokenConfigured) {
      request.log.info({ method: request.method, url: request.url }, 'refused: dashboard is read-only');
      return reply.code(403).send({
        error: 'the dashboard is read-only without NETQ_API_TOKEN: set a token to retry, remove or promote jobs',
      });
    }
    const source = crossSite(request, ownHost);
    if (source === undefined) return;
    request.log.info({ method: request.method, url: request.url, origin: source.slice(0, 200) }, 'refused: cross-site');
    const header = request.headers.origin === undefined ? 'Referer' : 'Origin';
    return reply
      .code(403)
      .send({ error: `cross-site request refused: ${header} ${quoteInput(source, 100)} is not this server` });
  };
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** True for an address in 127.0.0.0/8 or ::1 (names such as localhost are not trusted to resolve there). */
export function isLoopback(host: string): boolean {
  const family = isIP(host);
  if (family === 0) return false;
  return loopback.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** Why `netq serve` must not start with this config, or undefined: without a token, loopback only. */
export function listenProblem(config: Pick<Config, 'apiToken' | 'apiListen'>): string | undefined {
  if (config.apiToken !== undefined || isLoopback(config.apiListen.host)) return undefined;
  const { host, port } = config.apiListen;
  return `refusing to serve ${host.includes(':') ? `[${host}]` : host}:${port} without a token: set NETQ_API_TOKEN (16+ characters) or listen on a loopback address (NETQ_API_LISTEN=127.0.0.1:${port})`;
}
