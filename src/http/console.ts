import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** `console/` at the project root, whether this file runs from src/ (tsx) or dist/ (built). */
export const CONSOLE_FOLDER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console');
export const CONSOLE_PATH = '/console';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Routes of the API the console shows when the service has them (they are added by later versions). */
const OPTIONAL_API = {
  receipts: '/v1/users/:userId/consent-receipts/:eventId',
  export: '/v1/users/:userId/export',
} as const;

interface Asset {
  type: string;
  etag: string;
  identity: Buffer;
  br: Buffer;
  gzip: Buffer;
}

function asset(path: string, body: Buffer): Asset {
  return {
    type: TYPES[extname(path)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    identity: body,
    br: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
    gzip: gzipSync(body, { level: 9 }),
  };
}

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    return entry.isDirectory() ? filesUnder(path) : extname(entry.name) in TYPES ? [path] : [];
  });
}

export interface ConsoleOptions {
  /** Development keys verify tokens: the sign-in page shows how to mint one. */
  development: boolean;
  folder?: string;
}

/**
 * The console (`/console`): a few static files, read and compressed once at start, served with
 * an ETag. No build step: the browser loads the ES modules as they are. The page's shell says
 * whether development keys are in use and which optional parts of the API this service has;
 * everything it shows it reads from the API with the token the user signs in with.
 */
export async function consoleRoutes(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const folder = opts.folder ?? CONSOLE_FOLDER;
  const assets = new Map<string, Asset>();
  for (const path of filesUnder(folder)) {
    const name = relative(folder, path).split(sep).join('/');
    if (name !== 'index.html') assets.set(name, asset(name, readFileSync(path)));
  }
  const shell = readFileSync(join(folder, 'index.html'), 'utf8');
  // Rendered on first request, once every route of the service is registered.
  let index: Asset | null = null;
  const indexAsset = () =>
    (index ??= asset(
      'index.html',
      Buffer.from(
        shell
          .replace('data-development-keys=""', `data-development-keys="${opts.development}"`)
          .replace('data-receipts=""', `data-receipts="${app.hasRoute({ method: 'GET', url: OPTIONAL_API.receipts })}"`)
          .replace('data-export=""', `data-export="${app.hasRoute({ method: 'GET', url: OPTIONAL_API.export })}"`),
      ),
    ));

  const send = (request: FastifyRequest, reply: FastifyReply, a: Asset) => {
    reply.header('content-type', a.type).header('etag', a.etag).header('cache-control', 'no-cache').header('vary', 'accept-encoding');
    if (request.headers['if-none-match'] === a.etag) return reply.code(304).send();
    const accepted = String(request.headers['accept-encoding'] ?? '');
    if (/\bbr\b/.test(accepted)) return reply.header('content-encoding', 'br').send(a.br);
    if (/\bgzip\b/.test(accepted)) return reply.header('content-encoding', 'gzip').send(a.gzip);
    return reply.send(a.identity);
  };

  const config = { auth: { public: true } };
  const schema = { hide: true };
  app.get(CONSOLE_PATH, { config, schema }, async (request, reply) => send(request, reply, indexAsset()));
  app.get(`${CONSOLE_PATH}/*`, { config, schema }, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    if (name === '' || name === 'index.html') return send(request, reply, indexAsset());
    const found = assets.get(name);
    if (found === undefined) return reply.callNotFound();
    return send(request, reply, found);
  });
}
