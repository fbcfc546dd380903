// One chaos scenario's world: the stack as the demo starts it (a dev server on a database file, so it survives a
// kill, the sandbox, one or two workers, the receiver), a client, and the faults a scenario injects into it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client, Connection } from '@temporalio/client';

import { freePort } from '../../scripts/lib/ports.js';
import { type Service, type Stack, startStack } from '../../scripts/lib/stack.js';
import { createDataConverter } from '../../src/codec/data-converter.js';
import { sleep } from '../harness.js';
import { sandboxLog, type Target } from './verifications.js';

export interface WorldOptions {
  name: string;
  workers: number;
  logDir: string;
  /** Picks the moments of random faults; seeded, so a run can be repeated. */
  random: () => number;
  log: (line: string) => void;
}

export interface World extends Target {
  stack: Stack;
  random: () => number;
  log: (line: string) => void;
  /** What was injected so far, by kind. */
  injected: Record<string, number>;
  close(): Promise<void>;
}

export async function startWorld(options: WorldOptions): Promise<World> {
  const dataDir = mkdtempSync(join(tmpdir(), `kyc-chaos-${options.name}-`));
  const stack = await startStack({
    // Only the dev server's port is picked: it cannot listen on 0. The rest listen on 0, or serve no metrics.
    ports: { temporal: await freePort(), workerMetrics: Array<number>(options.workers).fill(0) },
    dbFile: join(dataDir, 'temporal.sqlite'),
    logDir: join(options.logDir, options.name),
    taskQueue: `chaos-${options.name}`,
    env: {
      SANDBOX_PROCESSING_DELAY_MS: '1500',
      // The vendor's documented ten retries, from 500 ms doubling: the last one comes about 8.5 minutes later.
      SANDBOX_CALLBACK_RETRY_BASE_MS: '500',
      LOG_LEVEL: 'warn',
    },
  });
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection, dataConverter: await createDataConverter(stack.encryptionKeys) });
  return {
    stack,
    client,
    taskQueue: `chaos-${options.name}`,
    sandboxControlUrl: stack.sandboxControlUrl,
    random: options.random,
    log: options.log,
    injected: {},
    async close() {
      await connection.close().catch(() => undefined);
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function count(world: World, kind: string): void {
  world.injected[kind] = (world.injected[kind] ?? 0) + 1;
}

function workers(world: World): Service[] {
  return world.stack.services.workers;
}

/** Resolves once at least `min` requests of `method` wait for their answer (a POST only once it was accepted). */
export async function waitForInFlight(world: World, method: 'POST' | 'GET', min: number, timeoutMs = 120_000) {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const pending = (await sandboxLog(world)).requests.filter(
      (entry) => entry.method === method && entry.answeredAt === null && (method === 'GET' || entry.accepted),
    );
    if (pending.length >= min) return pending.length;
    if (Date.now() > giveUpAt) throw new Error(`no ${min} ${method}s in flight within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/** SIGKILL of every worker, then new ones, as a crash and a supervisor's restart. */
export async function killWorkers(world: World): Promise<void> {
  await Promise.all(workers(world).map((worker) => worker.kill()));
  world.log('workers killed');
  count(world, 'workerKills');
  await Promise.all(workers(world).map((worker) => worker.start()));
}

/** SIGKILL of one worker at random, and a new one. */
export async function killOneWorker(world: World): Promise<void> {
  const all = workers(world);
  const worker = all[Math.floor(world.random() * all.length)] as Service;
  await worker.kill();
  world.log(`${worker.name} killed`);
  count(world, 'workerKills');
  await worker.start();
}

/** SIGKILL of the dev server; after `downMs`, the same binary on the same port and database file. */
export async function killServer(world: World, downMs: number): Promise<void> {
  const temporal = world.stack.services.temporal;
  if (!temporal) throw new Error('this world has no dev server of its own');
  await temporal.kill();
  world.log('Temporal server killed');
  count(world, 'serverKills');
  await sleep(downMs);
  await temporal.start();
  world.log('Temporal server back');
}

/** The receiver stopped for `downMs`: the sandbox's callbacks fail meanwhile, and it retries them. */
export async function receiverDown(world: World, downMs: number): Promise<void> {
  await world.stack.services.receiver.stop();
  world.log('receiver stopped');
  count(world, 'receiverOutages');
  await sleep(downMs);
  await world.stack.services.receiver.start();
  world.log('receiver back');
}

/** Each worker in turn stopped with SIGTERM (it finishes what it runs, within its grace time) and started again. */
export async function rollingRestart(world: World): Promise<void> {
  for (const worker of workers(world)) {
    // Longer than the worker's 30 s shutdown grace time, so SIGTERM is never turned into a SIGKILL here.
    await worker.stop(45_000);
    world.log(`${worker.name} stopped (SIGTERM)`);
    count(world, 'gracefulRestarts');
    await worker.start();
  }
}

/** A random pause between `minMs` and `maxMs`. */
export function pause(world: World, minMs: number, maxMs: number): Promise<void> {
  return sleep(minMs + world.random() * (maxMs - minMs));
}
