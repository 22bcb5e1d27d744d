import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateResolverTypes } from '../../src/graphql/codegen.js';

describe('GraphQL resolver types', () => {
  it('are what schema/ generates (run `npm run graphql:codegen` after changing the SDL)', async () => {
    const committed = readFileSync(new URL('../../src/graphql/generated.ts', import.meta.url), 'utf8');
    expect(await generateResolverTypes()).toBe(committed);
  });
});
