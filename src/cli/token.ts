/**
 * Mints a token signed with the development keys in DATA_DIR:
 *   npm run token -- --sub alice --scope consent:self [--scope ...] [--ttl 3600]
 */
import { parseArgs } from 'node:util';
import { importJWK, SignJWT } from 'jose';
import { loadOrCreateDevKeys } from '../auth/keys.js';
import { ConfigError, loadConfig } from '../config.js';

const { values } = parseArgs({
  options: {
    sub: { type: 'string' },
    scope: { type: 'string', multiple: true },
    ttl: { type: 'string', default: '3600' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help || !values.sub) {
  process.stderr.write(
    'usage: npm run token -- --sub <subject> --scope <scope> [--scope <scope> ...] [--ttl <seconds>]\n' +
      'scopes: consent:self consent:read consent:write training:read audit:read admin\n',
  );
  process.exit(values.help ? 0 : 2);
}

try {
  const config = loadConfig();
  if (config.auth.jwksFile || config.auth.jwksUrl) {
    process.stderr.write('warning: AUTH_JWKS_* is set; the service will not accept tokens signed with the development keys\n');
  }
  const keys = await loadOrCreateDevKeys(config.dataDir);
  const key = await importJWK(keys.privateJwk, 'EdDSA');
  const scopes = (values.scope ?? []).flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
  const token = await new SignJWT({ scope: scopes.join(' ') })
    .setProtectedHeader({ alg: 'EdDSA', kid: keys.privateJwk.kid, typ: 'JWT' })
    .setSubject(values.sub)
    .setIssuer(config.auth.issuer)
    .setAudience(config.auth.audience)
    .setIssuedAt()
    .setExpirationTime(`${Number.parseInt(values.ttl!, 10)}s`)
    .sign(key);
  process.stdout.write(`${token}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
  process.exit(1);
}
