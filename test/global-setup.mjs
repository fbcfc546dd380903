// One real Temporal dev server for the whole run, on free ports, so a demo on 7233 never interferes.
// Plain ESM loading TypeScript through tsx: jest runs global setup outside its module transform.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { freePort } = await tsImport('../scripts/lib/ports.ts', import.meta.url);
  const { startDevServer } = await tsImport('../scripts/lib/dev-server.ts', import.meta.url);
  const server = await startDevServer({ port: await freePort() });
  globalThis.__TEMPORAL_DEV_SERVER__ = server;
  // Test workers are forked after this and inherit the environment.
  process.env.TEMPORAL_TEST_ADDRESS = server.address;
}
