/**
 * Verifies a decision receipt offline:
 *   npm run receipt:verify -- FILE [--jwks FILE_OR_URL] [--issuer ISS]
 * FILE is the saved response of a single or batch eligibility read made with receipt=true. The keys
 * are the service's published JWKS (/.well-known/jwks.json), saved to a file or fetched from a URL
 * (default http://127.0.0.1:3000/.well-known/jwks.json). Exit status 0 when the receipt verifies.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import { verifyDecisionReceipt } from '../proof/verify-receipt.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    jwks: { type: 'string', default: 'http://127.0.0.1:3000/.well-known/jwks.json' },
    issuer: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help || positionals.length !== 1) {
  process.stderr.write('usage: npm run receipt:verify -- FILE [--jwks FILE_OR_URL] [--issuer ISS]\n');
  process.exit(values.help ? 0 : 2);
}

async function keys(source: string): Promise<{ keys: JWK[] }> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`${source} answered ${res.status}`);
    return (await res.json()) as { keys: JWK[] };
  }
  return JSON.parse(readFileSync(source, 'utf8')) as { keys: JWK[] };
}

try {
  const response = JSON.parse(readFileSync(positionals[0], 'utf8')) as Record<string, unknown>;
  const check = await verifyDecisionReceipt(response, await keys(values.jwks!), values.issuer);
  if (check.ok) {
    const p = check.payload!;
    process.stdout.write(`receipt verifies: ${p.count} result(s) at revision ${p.revision} (asOf ${p.asOf}), issued by ${p.iss}, key ${check.kid}\n`);
  } else {
    process.stdout.write(`receipt does NOT verify:\n${check.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exitCode = 1;
  }
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
}
