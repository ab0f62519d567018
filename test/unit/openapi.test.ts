import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors.js';
import { openApiDocument, openApiText } from '../../src/http/openapi.js';
import { HTTP_STATUS } from '../../src/http/status.js';
import { VERSION } from '../../src/version.js';
import { catalogue } from '../../tools/index.js';

/** The old service's endpoints, as docs/interfaces.md lists them: its clients call exactly these. */
const OLD_SERVICE = [
  'GET /daemons',
  'POST /daemons',
  'DELETE /daemons/{name}',
  'POST /daemons/{name}/start',
  'POST /daemons/{name}/stop',
  'GET /hosts',
  'POST /hosts',
  'DELETE /hosts/{name}',
  'POST /hosts/{name}/exec',
  'GET /networks',
  'POST /networks',
  'DELETE /networks/{name}',
  'POST /networks/connect',
  'POST /networks/disconnect',
  'GET /tunnels',
  'POST /tunnels',
  'DELETE /tunnels/{container}/{tunnel}',
  'GET /tunnels/{container}/{tunnel}/state',
  'POST /tunnels/{container}/{tunnel}/diagnose',
  'POST /tunnels/{container}/{tunnel}/fix',
  'GET /topologies',
  'POST /topologies',
  'DELETE /topologies/{id}',
  'POST /topologies/{id}/activate',
  'POST /topology/standup',
  'POST /topology/teardown',
  'GET /openapi.json',
];

type Op = {
  operationId: string;
  summary: string;
  description: string;
  parameters?: Array<{ in: string; name: string; required?: boolean }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: { required?: string[] } }> };
  responses: Record<string, unknown>;
};
const doc = openApiDocument() as unknown as {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Op>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
  security: unknown[];
};
const op = (line: string): Op | undefined => {
  const [method, path] = line.split(' ') as [string, string];
  return doc.paths[path]?.[method.toLowerCase()];
};

describe('/openapi.json', () => {
  it('is valid OpenAPI 3.1 according to an independent validator', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.openapi).toBe('3.1.0');
    // the validator does refuse a broken document (a path parameter that the path does not have)
    const broken = structuredClone(doc) as { paths: Record<string, unknown> };
    broken.paths['/daemons'] = { get: { responses: { '200': { description: 'x' } }, parameters: [{ in: 'path', name: 'x' }] } };
    expect((await new Validator().validate(broken as never)).valid).toBe(false);
  });

  it("carries the package's version and a bearer security scheme", () => {
    expect(doc.info.version).toBe(VERSION);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
  });

  it("documents every path of the old service, at exactly the old service's spelling", () => {
    const missing = OLD_SERVICE.filter((line) => !op(line));
    expect(missing).toEqual([]);
  });

  it('has one operation per tool with a route: operationId = name, summary = title, description, and no other operation', () => {
    const ops = Object.values(doc.paths).flatMap((item) => Object.values(item));
    const routed = catalogue.filter((t) => t.http);
    expect(ops.map((o) => o.operationId).sort()).toEqual([...routed.map((t) => t.name), 'openapi'].sort());
    for (const tool of routed) {
      const o = op(`${tool.http?.method} ${tool.http?.path}`);
      expect(o, tool.name).toMatchObject({ operationId: tool.name, summary: tool.title, description: tool.description });
    }
  });

  it('maps path parameters to the tool fields and documents the body of a create with its required fields', () => {
    const del = op('DELETE /tunnels/{container}/{tunnel}');
    expect(del?.parameters?.map((p) => [p.in, p.name, p.required])).toEqual([
      ['path', 'container', true],
      ['path', 'tunnel', true],
    ]);
    expect(op('DELETE /topologies/{id}')?.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(['path:id', 'query:force']);
    const create = op('POST /networks');
    expect(create?.requestBody?.required).toBe(true);
    expect(create?.requestBody?.content['application/json']?.schema.required).toEqual(['name', 'subnet']);
    // the exec body has no name: the name is in the path
    const exec = op('POST /hosts/{name}/exec')?.requestBody?.content['application/json']?.schema.required;
    expect(exec).toEqual(['command']);
    expect(op('POST /topology/standup')?.requestBody?.content['application/json']?.schema.required).toEqual(['name']);
  });

  it('answers 201 for creates and 200 otherwise, and documents 400, 401, 404 and 409 with the error body', () => {
    expect(Object.keys(op('POST /daemons')?.responses ?? {})).toContain('201');
    expect(Object.keys(op('POST /daemons')?.responses ?? {})).not.toContain('200');
    expect(Object.keys(op('GET /daemons')?.responses ?? {})).toContain('200');
    for (const s of ['400', '401', '404', '409']) expect(op('POST /networks')?.responses[s]).toBeDefined();
  });

  it('maps every error code to a status, and only INTERNAL to 500', () => {
    expect(Object.keys(HTTP_STATUS).sort()).toEqual([...ERROR_CODES].sort());
    const fiveHundreds = Object.entries(HTTP_STATUS).filter(([, s]) => s === 500);
    expect(fiveHundreds).toEqual([['INTERNAL', 500]]);
    expect(HTTP_STATUS).toMatchObject({ INVALID_INPUT: 400, NOT_FOUND: 404, CONFLICT: 409 });
  });

  it('schemas/openapi.json is up to date (run `npm run gen`)', () => {
    expect(readFileSync(join(import.meta.dirname, '..', '..', 'schemas', 'openapi.json'), 'utf8')).toBe(openApiText());
  });
});
