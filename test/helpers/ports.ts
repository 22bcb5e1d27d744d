import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports for servers a test starts, stops and starts again (a service process, a private cluster,
 * a proxy), taken below the kernel's ephemeral range. A port from that range (`listen(0)`) is free
 * only until some outgoing connection on the machine is given it as its local port, and the
 * suite makes thousands: a server that binds it a few seconds later, or binds it again after a
 * restart, then fails with EADDRINUSE. No outgoing connection is given a port below the range.
 */
const EPHEMERAL_LOW = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32_768;
  }
})();
const LOW = 20_000;
const HIGH = Math.min(EPHEMERAL_LOW, 32_768) - 1;
/** Ports of servers this machine may run there (RabbitMQ's inter-node port among them). */
const TAKEN_BY_SERVICES = new Set([25_672, 27_017, 28_015]);

function tryBind(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(null));
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as { port: number }).port;
      srv.close(() => resolve(bound));
    });
  });
}

/** A free TCP port on loopback that no outgoing connection will take before a server binds it. */
export async function freePort(): Promise<number> {
  if (HIGH - LOW >= 1_000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
      if (TAKEN_BY_SERVICES.has(port)) continue;
      if ((await tryBind(port)) !== null) return port;
    }
  }
  // The ephemeral range starts too low to leave room below it: any free port.
  return (await tryBind(0))!;
}
