/**
 * Verifies the audit log:
 *   npm run audit:verify                       the database of DATABASE_URL (or the embedded one in DATA_DIR)
 *   npm run audit:verify -- --file F           an export: { events, checkpoints } of the whole log, or a
 *                                              user's export (GET /v1/users/{userId}/export)
 *   [--jwks FILE_OR_URL]                       the published keys (default: those of SIGNING_KEYS_FILE,
 *                                              or the development keys in DATA_DIR)
 * Checks every chain, every checkpoint's signature, the consistency of successive checkpoints and
 * each checkpoint's root against the events. Exit status 0 when everything verifies, 1 when not:
 * the output names the first revision or checkpoint tree size where the log breaks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import { publicKeys } from '../auth/keys.js';
import { ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { verifyDatabase } from '../proof/database-log.js';
import { verifyLog, verifyUserExport, type LogReport, type UserExportFile } from '../proof/log-verifier.js';
import type { Checkpoint } from '../proof/checkpoints.js';
import { DEV_SIGNING_KEYS_FILE } from '../proof/signing-keys.js';
import type { LoggedEvent } from '../audit/hash.js';

const { values } = parseArgs({
  options: { file: { type: 'string' }, jwks: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  process.stdout.write('usage: npm run audit:verify [-- --file EXPORT.json] [--jwks FILE_OR_URL]\n');
  process.exit(0);
}

async function keys(config: ReturnType<typeof loadConfig>): Promise<{ keys: JWK[] }> {
  const source = values.jwks;
  if (source !== undefined && /^https?:\/\//.test(source)) {
    const res = await fetch(source, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`${source} answered ${res.status}`);
    return (await res.json()) as { keys: JWK[] };
  }
  const file = source ?? config.proof.signingKeysFile ?? join(config.dataDir, DEV_SIGNING_KEYS_FILE);
  if (!existsSync(file)) throw new Error(`no signing keys at ${file}: set SIGNING_KEYS_FILE or pass --jwks with the published keys`);
  return publicKeys(JSON.parse(readFileSync(file, 'utf8')) as { keys: JWK[] });
}

function print(report: LogReport, what: string): void {
  if (report.ok) {
    process.stdout.write(`${what} verifies: ${report.events} events, ${report.checkpoints} checkpoint(s), every chain and signature intact\n`);
    return;
  }
  process.stdout.write(`${what} does NOT verify: ${report.breaks.length} problem(s). It first breaks at ${report.first!.where}: ${report.first!.message}\n`);
  for (const b of report.breaks.slice(0, 50)) process.stdout.write(`  - ${b.where}: ${b.message}\n`);
  if (report.breaks.length > 50) process.stdout.write(`  ... and ${report.breaks.length - 50} more\n`);
}

try {
  const config = loadConfig();
  const jwks = await keys(config);
  if (values.file !== undefined) {
    const file = JSON.parse(readFileSync(values.file, 'utf8')) as Record<string, unknown>;
    if (Array.isArray(file.proofs) && file.checkpoint !== undefined) {
      const report = await verifyUserExport(file as unknown as UserExportFile, jwks);
      print(report, `the export ${values.file}`);
      process.exitCode = report.ok ? 0 : 1;
    } else if (Array.isArray(file.events) && Array.isArray(file.checkpoints)) {
      const events = file.events as LoggedEvent[];
      const report = await verifyLog({ checkpoints: file.checkpoints as Checkpoint[], events: async function* () { yield events; } }, jwks);
      print(report, `the log in ${values.file}`);
      process.exitCode = report.ok ? 0 : 1;
    } else {
      throw new Error(`${values.file} is neither a log export ({ events, checkpoints }) nor a user export`);
    }
  } else {
    const db = await openDatabase(config.database);
    try {
      const report = await verifyDatabase(db, jwks);
      print(report, 'the audit log');
      process.exitCode = report.ok ? 0 : 1;
    } finally {
      await db.close();
    }
  }
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
  process.exitCode = 1;
}
