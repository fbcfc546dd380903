import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import { Connection } from '@temporalio/client';

import { ensureTemporalCli } from '../setup.mjs';
import { assertPortFree } from './ports.js';

/** Custom search attributes the workflows write; the dev server registers them at start. */
export const SEARCH_ATTRIBUTES = { KycStatus: 'Keyword', KycCustomerId: 'Keyword', KycReversal: 'Bool' } as const;

export interface DevServerOptions {
  port: number;
  /** Web UI port; omit for a headless server (tests). */
  uiPort?: number;
  /** SQLite file for persistence; omit for in-memory (tests). */
  dbFile?: string;
  /** Inherit stdio so a person sees the server's own log. */
  verbose?: boolean;
  /** The codec server the Web UI decrypts payloads through (`--ui-codec-endpoint`). */
  uiCodecEndpoint?: string;
  /** Dynamic config values, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 40 }`. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` and resolves once its frontend answers. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = ensureTemporalCli();
  await assertPortFree(options.port, 'Temporal frontend');
  if (options.uiPort !== undefined) await assertPortFree(options.uiPort, 'Temporal Web UI');
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'error'];
  args.push(...(options.uiPort === undefined ? ['--headless'] : ['--ui-port', String(options.uiPort)]));
  if (options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  if (options.dbFile) {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {})) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }

  const child = spawn(cli, args, { stdio: options.verbose ? 'inherit' : ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`temporal server exited early (code ${code}): ${stderr.trim()}`))),
  );
  const address = `127.0.0.1:${options.port}`;
  await Promise.race([waitUntilServing(address), exited]);
  child.removeAllListeners('exit');

  return {
    address,
    uiUrl: options.uiPort === undefined ? undefined : `http://127.0.0.1:${options.uiPort}`,
    process: child,
    stop: () => stopChild(child),
  };
}

async function waitUntilServing(address: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.healthService.check({});
        // Search attributes are registered asynchronously; wait until they are visible.
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        if (Object.keys(SEARCH_ATTRIBUTES).every((name) => customAttributes?.[name] !== undefined)) return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`Temporal at ${address} did not come up in 60 s: ${String(error)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** SIGTERM, then SIGKILL after `graceMs` (10 s by default): the dev server flushes SQLite on a clean stop. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
