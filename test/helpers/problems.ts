import { expect } from 'vitest';

/** A problem+json answer with this status and code, and no more. */
export function expectProblem(res: { status: number; headers: Record<string, string>; body: unknown }, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect((res.body as { code?: string }).code).toBe(code);
}
