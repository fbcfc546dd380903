import { rm } from 'node:fs/promises';

export default async function globalTeardown() {
  await globalThis.__TEMPORAL_DEV_SERVER__?.stop();
  if (globalThis.__KYC_TEST_BUNDLE_DIR__)
    await rm(globalThis.__KYC_TEST_BUNDLE_DIR__, { recursive: true, force: true });
}
