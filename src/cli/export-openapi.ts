/** Writes openapi.yaml from the route schemas: `npm run openapi`. A test fails when it drifts. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';

const dataDir = mkdtempSync(join(tmpdir(), 'consent-openapi-'));
try {
  const app = await buildApp(loadConfig({ DATABASE_URL: 'memory://', LOG_LEVEL: 'silent', DATA_DIR: dataDir }));
  await app.ready();
  const out = resolve(process.argv[2] ?? 'openapi.yaml');
  writeFileSync(out, app.swagger({ yaml: true }));
  await app.close();
  process.stdout.write(`wrote ${out}\n`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
