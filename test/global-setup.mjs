// One real Temporal dev server for the whole run, on free ports, so a demo on 7233 never interferes; the run's
// workflow bundles, built once; and the directory for the logs of the processes tests start. Plain ESM loading
// TypeScript through tsx: jest runs global setup outside its module transform.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { freePort } = await tsImport('../scripts/lib/ports.ts', import.meta.url);
  const { startDevServer } = await tsImport('../scripts/lib/dev-server.ts', import.meta.url);
  const { buildTestBundles } = await tsImport('./helpers/bundle.ts', import.meta.url);
  const bundleDir = await mkdtemp(join(tmpdir(), 'kyc-test-bundles-'));
  globalThis.__KYC_TEST_BUNDLE_DIR__ = bundleDir;
  // Kept after a failed run, removed after a passing one (test/log-reporter.mjs).
  process.env.KYC_TEST_LOG_DIR = await mkdtemp(join(tmpdir(), 'kyc-test-logs-'));
  const [server] = await Promise.all([startDevServer({ port: await freePort() }), buildTestBundles(bundleDir)]);
  globalThis.__TEMPORAL_DEV_SERVER__ = server;
  // Test workers are forked after this and inherit the environment.
  process.env.TEMPORAL_TEST_ADDRESS = server.address;
}
