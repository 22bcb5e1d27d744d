/**
 * `npm run graphql:codegen`: writes the resolvers' TypeScript types generated from the SDL in
 * schema/ to src/graphql/generated.ts. A test fails when that file is not what this writes.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateResolverTypes } from '../graphql/codegen.js';

const target = fileURLToPath(new URL('../graphql/generated.ts', import.meta.url));
writeFileSync(target, await generateResolverTypes());
process.stdout.write(`wrote ${target}\n`);
