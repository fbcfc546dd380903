import { createServer } from 'node:net';

/** A port the OS reports free right now, so parallel runs never collide on fixed ports. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
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
