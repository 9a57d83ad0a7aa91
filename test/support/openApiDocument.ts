/** What the tests read of netq's OpenAPI document (producers/http/openapi.ts serves it at /openapi.json). */
export interface OpenApiOperation {
  tags?: string[];
  operationId?: string;
  parameters?: { in: string; name: string; schema: { pattern?: string } }[];
  // biome-ignore lint/suspicious/noExplicitAny: the document is checked where it matters
  requestBody?: any;
}
export type OpenApi = { paths: Record<string, Record<string, OpenApiOperation>> };

/** Every operation of the document: method, path (OpenAPI's `{param}` form) and the operation. */
export function operations(doc: OpenApi): { method: string; path: string; op: OpenApiOperation }[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}
