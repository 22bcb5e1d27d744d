/**
 * A small keep-alive HTTP/1.1 client for the bench's own requests (seeding, the batch and stream
 * scenarios). Loopback only: every URL the bench builds points at 127.0.0.1.
 */
import http from 'node:http';

export const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

export function request(port: number, path: string, options: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = Buffer.byteLength(options.body);
    }
    const req = http.request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers, agent, timeout: options.timeoutMs ?? 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${options.timeoutMs ?? 30_000} ms: ${options.method ?? 'GET'} ${path}`)));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Counts newline-terminated lines of a streamed response without keeping its body. */
export function streamLines(
  port: number,
  path: string,
  headers: Record<string, string>,
  onProgress?: (lines: number) => void,
  timeoutMs = 30 * 60_000,
  onFirstByte?: () => void,
  onLine?: (line: string) => void,
): Promise<{ status: number; lines: number; bytes: number; firstLine: string; lastLine: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', headers, agent: false }, (res) => {
      let lines = 0;
      let bytes = 0;
      let firstLine = '';
      let tail = '';
      let nextReport = 100_000;
      let partial = '';
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) onFirstByte?.();
        if (onLine) {
          const text = partial + chunk.toString('utf8');
          const parts = text.split('\n');
          partial = parts.pop()!;
          for (const line of parts) onLine(line);
        }
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        if (firstLine === '' && lines > 0) {
          const text = chunk.toString('utf8');
          firstLine = text.slice(0, text.indexOf('\n'));
        }
        // Keep only the end of the stream, to show its last line.
        tail = (tail + chunk.toString('utf8', Math.max(0, chunk.length - 512))).slice(-1024);
        if (onProgress && lines >= nextReport) {
          onProgress(lines);
          nextReport += 100_000;
        }
      });
      res.on('end', () => {
        const parts = tail.split('\n').filter(Boolean);
        resolve({ status: res.statusCode ?? 0, lines, bytes, firstLine, lastLine: parts.at(-1) ?? '', headers: res.headers });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`stream did not finish within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end();
  });
}
