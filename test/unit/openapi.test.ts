import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { DokkuOutput } from '../../producers/dokkuOutput.js';
import { registerApiRoutes } from '../../producers/http/apiRoutes.js';
import { OPENAPI_PATH, registerOpenApi, registerOpenApiRoute } from '../../producers/http/openapi.js';
import { buildProgram } from '../../producers/program.js';
import { APP_NAME_PATTERN } from '../../src/appName.js';
import { loadConfig } from '../../src/config.js';
import type { NetqQueues } from '../../src/queue.js';
import { type OpenApi, operations } from '../support/openApiDocument.js';

/**
 * Route parity, without Redis: the API's routes (registerApiRoutes, as `netq serve` registers them) and their
 * OpenAPI document, generated from the routes' zod schemas, asked with fastify's inject. A CLI command without a
 * documented /v1 route fails here.
 */

/** The commands that are no request: they run a process, or print the help. */
const NOT_OVER_HTTP: Record<string, string> = {
  worker: 'runs a worker pool',
  serve: 'is the HTTP server',
  network: "prints the CLI's help",
  'network:help': "prints the CLI's help",
};

/** Queues that fail any use: building the routes and their document must not touch Redis. */
const noRedis = new Proxy({} as NetqQueues, {
  get(_, prop) {
    throw new Error(`the routes touched the queues (${String(prop)}) while being built`);
  },
});

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** The API's routes and document, as buildServer registers them (the generator first, the document last). */
async function apiDocument(): Promise<OpenApi> {
  const app = Fastify();
  apps.push(app);
  await registerOpenApi(app);
  await registerApiRoutes(app, loadConfig({}), noRedis);
  registerOpenApiRoute(app);
  await app.ready();
  const res = await app.inject({ method: 'GET', url: OPENAPI_PATH });
  expect(res.statusCode).toBe(200);
  return res.json() as OpenApi;
}

function cliCommands(): string[] {
  const program = buildProgram({
    getConfig: () => loadConfig({}),
    forceExit: (code) => {
      throw new Error(`exit ${code}`);
    },
    out: new DokkuOutput(),
  });
  return program.commands.map((c) => c.name());
}

describe('the API: a route for every command', () => {
  it('documents a /v1 route for every CLI command, tagged with the command', async () => {
    const commands = cliCommands();
    // the list of exceptions names real commands only
    for (const name of Object.keys(NOT_OVER_HTTP)) expect(commands, name).toContain(name);
    const ops = operations(await apiDocument());
    const tags = new Set(ops.flatMap((o) => o.op.tags ?? []));
    for (const name of commands.filter((c) => !(c in NOT_OVER_HTTP))) {
      expect(tags.has(name), `no route documented for the command ${name}`).toBe(true);
    }
    // only the API is documented: every operation runs a CLI command (or looks up a job) under /v1
    for (const { method, path, op } of ops) {
      expect(path, `${method} ${path}`).toMatch(/^\/v1\//);
      expect(op.tags, `${method} ${path}`).toHaveLength(1);
      expect([...commands, 'jobs'], `${method} ${path}`).toContain(op.tags?.[0]);
      expect(op.operationId, `${method} ${path}`).toBeDefined();
    }
    // operation ids are unique
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('generates the document from the schemas the routes check requests with', async () => {
    const doc = await apiDocument();
    const rebuild = doc.paths['/v1/apps/{app}/rebuild']?.post;
    const appParam = rebuild?.parameters?.find((p) => p.in === 'path' && p.name === 'app');
    expect(appParam?.schema.pattern).toBe(APP_NAME_PATTERN.source);
    const setBody = doc.paths['/v1/global/properties/{key}']?.put?.requestBody;
    expect(setBody.content['application/json'].schema.properties.values).toMatchObject({
      type: 'array',
      maxItems: 64,
      items: { type: 'string', maxLength: 1024 },
    });
  });
});
