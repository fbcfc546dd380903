// `npm run demo`: the whole system on a fresh clone, one verification per sandbox scenario, then a table.
// `npm run demo -- --once` exits 0 only when every scenario reached its expected outcome.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

import { Client, Connection } from '@temporalio/client';

import { getKycVerificationStatus, resubmitKycVerification, startKycVerification } from '../src/client.js';
import { createDataConverter } from '../src/codec/data-converter.js';
import { firstLine } from '../src/config.js';
import type { Outcome } from '../src/shared/contract.js';
import { PortBusyError } from './lib/ports.js';
import { type Stack, startStack } from './lib/stack.js';

const SCENARIOS: { name: string; prefix: string; expected: Outcome; resubmit?: boolean }[] = [
  { name: 'approve', prefix: 'approve-', expected: 'VERIFIED' },
  { name: 'reject', prefix: 'reject-', expected: 'REJECTED' },
  { name: 'soft, then resubmit', prefix: 'soft-', expected: 'VERIFIED', resubmit: true },
  { name: 'silent (no callback)', prefix: 'silent-', expected: 'VERIFIED' },
  { name: 'slow POST', prefix: 'slow-', expected: 'VERIFIED' },
  { name: 'flaky vendor', prefix: 'flaky-', expected: 'VERIFIED' },
];
/** Short waits, so the fallback and the whole demo finish in about a minute. */
const DEMO_TIMING = { firstCheckAfter: '5s', maxCheckInterval: '20s', deadline: '15m' };

const { values: flags } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    'temporal-port': { type: 'string', default: process.env.TEMPORAL_PORT ?? '7233' },
    'ui-port': { type: 'string', default: process.env.TEMPORAL_UI_PORT ?? '8233' },
    'sandbox-port': { type: 'string', default: process.env.SANDBOX_PORT ?? '8080' },
    'webhook-port': { type: 'string', default: process.env.WEBHOOK_PORT ?? '3000' },
    'metrics-port': { type: 'string', default: process.env.METRICS_PORT ?? '9464' },
    'worker-metrics-port': { type: 'string', default: process.env.WORKER_METRICS_PORT ?? '9465' },
    'codec-port': { type: 'string', default: process.env.CODEC_SERVER_PORT ?? '8888' },
    /** Where the dev server keeps its data; the same file as `npm run temporal`, so runs stay explorable. */
    'db-file': { type: 'string', default: join(import.meta.dirname, '..', '.temporal', 'dev.sqlite') },
    'log-dir': { type: 'string', default: join(import.meta.dirname, '..', '.temporal', 'logs') },
  },
});

/**
 * The demo encrypts every payload (docs/operations.md, "Encrypted histories"), with PAYLOAD_ENCRYPTION_KEYS when set,
 * else with a key it makes once and keeps beside the dev server's database, so that earlier runs stay readable.
 */
function demoEncryptionKeys(dbFile: string): { keys: string; from: string } {
  if (process.env.PAYLOAD_ENCRYPTION_KEYS)
    return { keys: process.env.PAYLOAD_ENCRYPTION_KEYS, from: 'PAYLOAD_ENCRYPTION_KEYS' };
  const file = join(dirname(dbFile), 'demo-payload-key');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `demo:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  }
  return { keys: readFileSync(file, 'utf8').trim(), from: file };
}
const encryption = demoEncryptionKeys(flags['db-file']);

/** `anyAllowed`: 0 is taken too, and the process listens on a port the system picks (the demo prints where). */
function port(flag: keyof typeof flags, anyAllowed = false): number {
  const value = Number(flags[flag]);
  if (!Number.isInteger(value) || value < (anyAllowed ? 0 : 1) || value > 65535) {
    console.error(`--${flag}: ${String(flags[flag])} is not a port number${anyAllowed ? ' (0: any free port)' : ''}`);
    process.exit(2);
  }
  return value;
}

async function runScenario(client: Client, scenario: (typeof SCENARIOS)[number], runId: string) {
  const customerId = `${scenario.prefix}demo-${runId}`;
  const startedAt = Date.now();
  const handle = await startKycVerification(client, { customerId, timing: DEMO_TIMING }, { taskQueue: TASK_QUEUE });
  if (scenario.resubmit) {
    // The merchant sees AWAITING_RESUBMISSION, fixes the data at XGateway, then asks for a new verification.
    for (;;) {
      const state = await getKycVerificationStatus(client, customerId);
      if (state.phase === 'AWAITING_RESUBMISSION') break;
      if (state.phase === 'COMPLETED') break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await resubmitKycVerification(client, customerId).catch(() => undefined);
  }
  const result = await handle.result().catch((error: unknown) => ({
    outcome: `FAILED: ${error instanceof Error ? error.message : String(error)}`,
    status: null,
  }));
  return { scenario, customerId, workflowId: handle.workflowId, result, seconds: (Date.now() - startedAt) / 1000 };
}

const TASK_QUEUE = process.env.KYC_TASK_QUEUE ?? 'kyc-verification';

async function main(): Promise<void> {
  let stack: Stack;
  try {
    stack = await startStack({
      ports: {
        temporal: port('temporal-port'),
        temporalUi: port('ui-port'),
        sandbox: port('sandbox-port', true),
        webhook: port('webhook-port', true),
        webhookMetrics: port('metrics-port'),
        workerMetrics: [port('worker-metrics-port')],
        codecServer: port('codec-port', true),
      },
      encryptionKeys: encryption.keys,
      dbFile: flags['db-file'],
      logDir: flags['log-dir'],
      taskQueue: TASK_QUEUE,
      env: { SANDBOX_SLOW_POST_MS: process.env.SANDBOX_SLOW_POST_MS ?? '20000' },
    });
  } catch (error) {
    console.error(error instanceof PortBusyError ? error.message : `demo: ${firstLine(error)}`);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = async (code: number) => {
    // Ctrl-C reaches this process more than once (from the terminal and relayed by tsx): stop once, cleanly.
    if (stopping) return;
    stopping = true;
    console.log('Stopping the worker, receiver, sandbox and Temporal…');
    await stack.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(130));
  process.on('SIGTERM', () => void shutdown(143));

  console.log(`Temporal ${stack.temporal.address}, Web UI ${stack.temporal.uiUrl}`);
  console.log(`Sandbox ${stack.sandboxUrl}, callback receiver ${stack.webhookUrl}, logs in ${stack.logDir}`);
  console.log(`Payloads are encrypted; the UI and the CLI decrypt through the codec server ${stack.codecServerUrl}`);
  console.log(`Running ${SCENARIOS.length} verifications…`);

  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection, dataConverter: await createDataConverter(stack.encryptionKeys) });
  const runId = new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14);
  const rows = await Promise.all(SCENARIOS.map((scenario) => runScenario(client, scenario, runId)));
  await connection.close();

  console.table(
    rows.map(({ scenario, workflowId, result, seconds }) => ({
      scenario: scenario.name,
      outcome: result.outcome,
      expected: scenario.expected,
      ok: result.outcome === scenario.expected ? 'yes' : 'NO',
      'vendor status': result.status,
      seconds: seconds.toFixed(1),
      'Temporal UI': `${stack.temporal.uiUrl}/namespaces/default/workflows/${workflowId}`,
    })),
  );
  const failed = rows.filter((row) => row.result.outcome !== row.scenario.expected);
  console.log(
    failed.length
      ? `${failed.length} scenario(s) did not reach the expected outcome.`
      : 'Every scenario reached its expected outcome.',
  );

  if (flags.once) return shutdown(failed.length ? 1 : 0);
  console.log(
    `Explore at ${stack.temporal.uiUrl}, or try: PAYLOAD_ENCRYPTION_KEYS=... npm run kyc -- start ` +
      `approve-$(date +%s) with the demo's keys (${encryption.from}), or: temporal workflow show --codec-endpoint ` +
      `${stack.codecServerUrl} --workflow-id <id>. Ctrl-C stops everything.`,
  );
}

await main();
