import v8 from 'node:v8';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

const started = process.hrtime.bigint();
let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  throw err;
}

// Before the heap grows: a bound on how far garbage may pile up between full collections.
if (config.memory.heapGrowingPercent > 0) v8.setFlagsFromString(`--heap-growing-percent=${config.memory.heapGrowingPercent}`);

const app = await buildApp(config).catch((err: Error) => {
  process.stderr.write(`the consent service could not start: ${err.message}\n`);
  process.exit(1);
});
await app.listen({ port: config.port, host: config.host }).catch(async (err: Error) => {
  process.stderr.write(`the consent service could not listen on ${config.host}:${config.port}: ${err.message}\n`);
  await app.close();
  process.exit(1);
});
app.log.info(
  { database: config.database.kind === 'postgres' ? 'postgres' : config.database.dataDir === null ? 'embedded (memory)' : `embedded (${config.database.dataDir})`, startupMs: Number(process.hrtime.bigint() - started) / 1e6 },
  'consent service ready',
);

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000).unref();
    app.close().then(
      () => {
        clearTimeout(force);
        process.exit(0);
      },
      (err) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
