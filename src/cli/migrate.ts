/** Applies pending migrations to the configured database and exits. */
import { ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';

try {
  const config = loadConfig();
  const db = await openDatabase(config.database);
  try {
    await migrateDatabase(db, config.database.kind === 'postgres' ? config.database.url : undefined);
    process.stdout.write('migrations applied\n');
  } finally {
    await db.close();
  }
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : `migration failed: ${(err as Error).message}`}\n`);
  process.exit(1);
}
