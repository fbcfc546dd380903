import { randomUUID } from 'node:crypto';

import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';

let runtimeInstalled = false;
/**
 * Quiets the SDK's own logger (failures surface through assertions). Called by the helpers that connect, never on
 * import; the SDK allows it only before its runtime first starts, so later calls do nothing.
 */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export function testAddress(): string {
  const address = process.env.TEMPORAL_TEST_ADDRESS;
  if (!address) throw new Error('TEMPORAL_TEST_ADDRESS is unset: run the tests through jest (npm test)');
  return address;
}

/** Each test gets its own task queue, so workers of different tests never steal each other's tasks. */
export function uniqueTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

export interface TemporalTestContext {
  /** The frontend's host:port, for the CLI; set when the context started or found the server. */
  address?: string;
  client: Client;
  nativeConnection: NativeConnection;
  close(): Promise<void>;
}

export async function connectTestTemporal(): Promise<TemporalTestContext> {
  installQuietRuntime();
  const address = testAddress();
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  return {
    address,
    client: new Client({ connection }),
    nativeConnection,
    close: async () => {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

/** Runs `fn` while a worker polls; the worker is shut down and drained afterwards, whatever happens. */
export async function withWorker<T>(
  options: Omit<WorkerOptions, 'connection'> & { connection: NativeConnection },
  fn: (worker: Worker) => Promise<T>,
): Promise<T> {
  const worker = await Worker.create(options);
  return worker.runUntil(fn(worker));
}
