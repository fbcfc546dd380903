export default async function globalTeardown() {
  await globalThis.__TEMPORAL_DEV_SERVER__?.stop();
}
