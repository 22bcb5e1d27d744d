import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe('OpenAPI description', () => {
  it('matches the committed openapi.yaml (run `npm run openapi` after changing a route)', () => {
    const committed = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8');
    expect(t.app.swagger({ yaml: true })).toBe(committed);
  });

  it('is served at /openapi.json and describes every operation fully', async () => {
    const res = await t.http.get('/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as { openapi: string; paths: Record<string, Record<string, any>> };
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
    expect(operations.length).toBeGreaterThanOrEqual(19);
    for (const { path, method, op } of operations) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(op.summary, where).toBeTruthy();
      expect(op.operationId, where).toBeTruthy();
      if (op.tags?.includes('operations')) {
        // Probes, metrics and keys: public, never shed or rate-limited.
        expect(op.security, where).toEqual([]);
      } else {
        expect(op.security, where).toEqual([{ bearer: [] }]);
        expect(Object.keys(op.responses), where).toEqual(expect.arrayContaining(['401', '403', '429', '500', '503']));
      }
      const success = Object.keys(op.responses).find((c) => c.startsWith('2'));
      expect(success, where).toBeDefined();
      if (['put', 'post'].includes(method) && !path.endsWith('/activity') && !path.endsWith('/checkpoints')) expect(op.requestBody, where).toBeDefined();
    }
    expect(Object.keys(doc.paths)).not.toContain('/graphql');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics', '/.well-known/jwks.json']));
  });

  it('serves the reference documentation at /docs', async () => {
    const res = await t.http.get('/docs/').redirects(1);
    expect(res.status).toBe(200);
    expect(res.text).toContain('swagger');
  });

  it('keeps openapi.yaml parseable as OpenAPI 3.1', () => {
    const doc = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8'));
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearer.scheme).toBe('bearer');
  });
});
