import { netqJsonObject } from '../../../src/report/buildReport.js';
import type { OperationContext } from '../../operations/context.js';
import { report } from '../../operations/report.js';
import type { ReportSection } from '../../reportData.js';
import { appParams, noQuerySchema } from '../input.js';
import { errorResponses, reportSchema, reportsByAppSchema } from '../responses.js';
import type { Api } from './api.js';

/** `network:report` over HTTP: what `--format json-by-app` shows (Dokku's keys, with netq's drift). */

async function sections(all: AsyncIterable<ReportSection>): Promise<ReportSection[]> {
  const out: ReportSection[] = [];
  for await (const s of all) out.push(s);
  return out;
}

export function registerReportRoutes(api: Api, ops: OperationContext): void {
  api.get(
    '/v1/apps/:app/report',
    {
      schema: {
        tags: ['network:report'],
        operationId: 'reportApp',
        summary: "an app's network report, with its drift (network:report <app> --format json-by-app)",
        params: appParams,
        querystring: noQuerySchema,
        response: { 200: reportSchema, ...errorResponses },
      },
    },
    async (request) => {
      const [section] = await sections(report(ops, { app: request.params.app, drift: true }));
      return section ? netqJsonObject(section.values, section.drift) : {};
    },
  );

  api.get(
    '/v1/report',
    {
      schema: {
        tags: ['network:report'],
        operationId: 'reportApps',
        summary: "every app's network report, keyed by app (network:report --format json-by-app)",
        querystring: noQuerySchema,
        response: { 200: reportsByAppSchema, ...errorResponses },
      },
    },
    async () => {
      const all = await sections(report(ops, { drift: true }));
      return Object.fromEntries(all.map((s) => [s.title, netqJsonObject(s.values, s.drift)]));
    },
  );

  api.get(
    '/v1/global/report',
    {
      schema: {
        tags: ['network:report'],
        operationId: 'reportGlobal',
        summary: 'the global network report (network:report --global --format json)',
        querystring: noQuerySchema,
        response: { 200: reportSchema, ...errorResponses },
      },
    },
    async () => {
      const [section] = await sections(report(ops, { global: true, drift: false }));
      return section ? netqJsonObject(section.values) : {};
    },
  );
}
