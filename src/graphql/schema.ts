import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `schema/` at the project root, whether this file runs from src/ (tsx) or dist/ (built). */
export const SCHEMA_FOLDER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schema');

/** The SDL the service serves: every `.graphql` file of `schema/`, in name order. */
export function loadSchemaSdl(folder = SCHEMA_FOLDER): string {
  return readdirSync(folder)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(join(folder, f), 'utf8'))
    .join('\n');
}
