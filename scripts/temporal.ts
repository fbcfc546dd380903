// `npm run temporal`: a persistent dev server with the Web UI, for the demo and for exploring.
import { join } from 'node:path';

import { startDevServer } from './lib/dev-server.js';
import { PortBusyError } from './lib/ports.js';

const port = Number(process.env.TEMPORAL_PORT ?? 7233);
const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
const dataDir = join(import.meta.dirname, '..', '.temporal');

try {
  const server = await startDevServer({ port, uiPort, dbFile: join(dataDir, 'dev.sqlite'), verbose: true });
  console.log(`Temporal dev server on ${server.address}, Web UI at ${server.uiUrl}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.stop());
} catch (error) {
  console.error(error instanceof PortBusyError ? error.message : `Temporal dev server failed: ${String(error)}`);
  process.exit(1);
}
