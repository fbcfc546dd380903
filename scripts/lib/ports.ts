import { createServer } from 'node:net';

/**
 * Where `freePort` picks: below Linux's default ephemeral range (32768-60999). A port picked there and released could
 * be taken a moment later as the source port of any outgoing connection, before its user binds it; below the range,
 * only another listener can take it.
 */
const PICK_FROM = 20_000;
const PICK_TO = 32_767;
const handedOut = new Set<number>();

/** A port that is free right now and outside the ephemeral range, so parallel runs never collide on fixed ports. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 100; tries += 1) {
    const port = PICK_FROM + Math.floor(Math.random() * (PICK_TO - PICK_FROM + 1));
    if (handedOut.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${PICK_FROM} and ${PICK_TO} after 100 tries`);
}

/** Fails with one clear line when a fixed port is taken, instead of a stack trace later. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', () => reject(new PortBusyError(`${what}: port ${port} on 127.0.0.1 is already in use`)));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

export class PortBusyError extends Error {
  override name = 'PortBusyError';
}
