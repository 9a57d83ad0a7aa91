import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../src/config.js';

/** Bearer-token auth of `netq serve`, and the rule that keeps a server without a token on loopback. */

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
