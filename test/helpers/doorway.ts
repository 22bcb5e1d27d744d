import net from 'node:net';
import { freePort } from './ports.js';

/**
 * A TCP proxy in front of the server that can stop listening (connections are refused, as by a
 * stopped server), listen again on the same port, or freeze (connections stay open and nothing
 * crosses them, as on a network that drops packets).
 */
export class Doorway {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** Connections stay open but nothing crosses: a statement sent now is never answered. */
  frozen = false;
  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async open(target: string): Promise<Doorway> {
    const u = new URL(target);
    // Below the ephemeral range: the doorway listens again on this port after `shut`.
    const door = new Doorway(await freePort(), { host: u.hostname, port: Number(u.port || 5432) });
    await door.listen();
    return door;
  }

  url(base: string): string {
    const u = new URL(base);
    u.port = String(this.port);
    return u.toString();
  }

  async listen(): Promise<void> {
    this.server = net.createServer((inbound) => {
      const outbound = net.connect(this.target.port, this.target.host);
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => this.sockets.delete(s));
      }
      // Forwarded unless frozen: a frozen doorway holds every byte, as a network that drops packets would.
      inbound.on('data', (d: Buffer) => this.frozen || outbound.write(d));
      outbound.on('data', (d: Buffer) => this.frozen || inbound.write(d));
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', () => resolve()));
  }

  /** Refuses new connections and cuts the open ones. */
  async shut(): Promise<void> {
    const server = this.server!;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
}

