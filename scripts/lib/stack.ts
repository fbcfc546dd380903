// The whole system as child processes, the way an operator runs it: Temporal dev server, sandbox, worker(s) and
// callback receiver. Used by the demo, the benchmarks and the chaos suite, which stops, kills and restarts parts.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { EncryptionKey } from '../../src/codec/encryption-codec.js';
import { parseEnv, temporalEnvSchema } from '../../src/config.js';
import { randomSandboxKeys } from '../../src/sandbox/defaults.js';
import { bundleWorkflows } from '../bundle-workflows.js';
import { type DevServerOptions, startDevServer, stopChild } from './dev-server.js';
import { entryArgs } from './entry.js';
import { assertPortFree } from './ports.js';

const root = join(import.meta.dirname, '..', '..');

/**
 * Where the stack's processes listen. The sandbox, the receiver and the codec server take 0 (their default): each then
 * listens on a port the system picks and names it in its start-up line, which the stack reads. Metrics ports take 0
 * too, which turns that process's metrics off, as METRICS_PORT=0 does. Nothing else can: the pinned dev server refuses
 * `--port 0`, and the worker's metrics listener is Temporal core's, which does not say which port it got.
 */
export interface StackPorts {
  /** Ignored when `temporalAddress` is given. */
  temporal: number;
  temporalUi?: number;
  sandbox?: number;
  webhook?: number;
  /** Omitted or 0: the receiver serves no metrics. */
  webhookMetrics?: number;
  /** One per worker: the stack starts as many workers as ports given; 0 for a worker without metrics. */
  workerMetrics: number[];
  /** With `encryptionKeys`: the codec server's port (0 for any), which the dev server's UI then decrypts through. */
  codecServer?: number;
}

export interface StackOptions {
  ports: StackPorts;
  /** Use this running Temporal server instead of starting a dev server (tests share one). */
  temporalAddress?: string;
  /** SQLite file for a persistent dev server; in-memory without. */
  dbFile?: string;
  /** Where each child's log goes, one file per process. */
  logDir: string;
  taskQueue: string;
  /** Extra environment for every child (e.g. sandbox timings, worker cache size). */
  env?: Record<string, string>;
  /** The dev server's dynamic config (e.g. eager activity dispatch); ignored with `temporalAddress`. */
  dynamicConfig?: DevServerOptions['dynamicConfig'];
  /**
   * PAYLOAD_ENCRYPTION_KEYS for every child. Never inherited from this process's environment: whoever starts the
   * stack decides, and builds its own clients with `createDataConverter(stack.encryptionKeys)`.
   */
  encryptionKeys?: string;
}

/** One process of the stack, which can be stopped as a deploy does, killed as a crash does, and started again. */
export interface Service {
  readonly name: string;
  /** The running process; undefined while stopped. */
  readonly process: ChildProcess | undefined;
  /** Starts the process (again) and resolves once it answers. */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL once `graceMs` has passed. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL: the process gets no chance to clean up. */
  kill(): Promise<void>;
}

export interface Stack {
  temporal: { address: string; uiUrl?: string };
  /** The keys made for this run: the sandbox expects the API key and hashes callbacks with the secret key. */
  keys: { apiKey: string; secretKey: string };
  sandboxUrl: string;
  sandboxControlUrl: string;
  webhookUrl: string;
  /** The keys the children encrypt with; undefined when payloads stay plain. */
  encryptionKeys: EncryptionKey[] | undefined;
  /** The codec server, when `ports.codecServer` and keys were given. */
  codecServerUrl?: string;
  /** The dev server (absent with `temporalAddress`), sandbox, receiver and workers. */
  services: { temporal?: Service; sandbox: Service; receiver: Service; workers: Service[] };
  /** The first worker's process. */
  readonly worker: ChildProcess;
  logDir: string;
  stop(): Promise<void>;
}

/** Starts every part and resolves when each one answers; on any failure, stops what it started. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { ports } = options;
  // One line naming the variable for a bad key, as every process of the stack would say it.
  const { PAYLOAD_ENCRYPTION_KEYS: encryptionKeys } = parseEnv(
    temporalEnvSchema.pick({ PAYLOAD_ENCRYPTION_KEYS: true }),
    {
      PAYLOAD_ENCRYPTION_KEYS: options.encryptionKeys,
    },
  );
  const codecServerPort = encryptionKeys ? ports.codecServer : undefined;
  const sandboxPort = ports.sandbox ?? 0;
  const webhookPort = ports.webhook ?? 0;
  if (sandboxPort) await assertPortFree(sandboxPort, 'Sandbox (SANDBOX_PORT)');
  if (codecServerPort) await assertPortFree(codecServerPort, 'Codec server (CODEC_SERVER_PORT)');
  if (webhookPort) await assertPortFree(webhookPort, 'Callback receiver (WEBHOOK_PORT)');
  if (ports.webhookMetrics) await assertPortFree(ports.webhookMetrics, 'Receiver metrics (METRICS_PORT)');
  for (const port of ports.workerMetrics) {
    if (port) await assertPortFree(port, 'Worker metrics (WORKER_METRICS_PORT)');
  }
  mkdirSync(options.logDir, { recursive: true });

  const started: Service[] = [];
  const stop = async () => {
    for (const service of [...started].reverse()) await service.stop().catch(() => undefined);
  };
  const startService = async <S extends Service>(service: S): Promise<S> => {
    started.push(service);
    await service.start();
    return service;
  };
  try {
    const keys = randomSandboxKeys();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      XGATEWAY_API_KEY: keys.apiKey,
      XGATEWAY_SECRET_KEY: keys.secretKey,
      TEMPORAL_NAMESPACE: 'default',
      KYC_TASK_QUEUE: options.taskQueue,
      ...options.env,
      // After `options.env`: the keys the children use are the ones `stack.encryptionKeys` reports.
      PAYLOAD_ENCRYPTION_KEYS: options.encryptionKeys ?? '',
    };
    // Each process starts once the address it needs is known: the codec server's for the dev server's UI, Temporal's
    // for the receiver, the receiver's for the sandbox's callbacks, the sandbox's for the workers.
    let codecServer: ListeningService | undefined;
    if (codecServerPort !== undefined) {
      const ui = ports.temporalUi ?? 8233;
      codecServer = await startService(
        listeningService('codec-server', 'src/codec/main.ts', 'CODEC_SERVER_PORT', codecServerPort, {
          env: { ...env, CODEC_SERVER_ALLOWED_ORIGINS: `http://127.0.0.1:${ui},http://localhost:${ui}` },
          logDir: options.logDir,
          announcement: startupField('codec server ready'),
          readyPath: '/healthz',
        }),
      );
    }
    let temporal: Stack['temporal'] = { address: options.temporalAddress ?? '' };
    let temporalService: Service | undefined;
    if (!options.temporalAddress) {
      temporalService = devServerService({
        port: ports.temporal,
        uiPort: ports.temporalUi,
        dbFile: options.dbFile,
        dynamicConfig: options.dynamicConfig,
        uiCodecEndpoint: codecServer?.origin,
      });
      await startService(temporalService);
      temporal = {
        address: `127.0.0.1:${ports.temporal}`,
        uiUrl: ports.temporalUi === undefined ? undefined : `http://127.0.0.1:${ports.temporalUi}`,
      };
    }
    env.TEMPORAL_ADDRESS = temporal.address;
    const [workflowBundle, receiver] = await Promise.all([
      workflowBundleOnce(),
      startService(
        listeningService('webhook', 'src/webhook/main.ts', 'WEBHOOK_PORT', webhookPort, {
          env: { ...env, METRICS_PORT: String(ports.webhookMetrics ?? 0) },
          logDir: options.logDir,
          announcement: startupField('receiver ready'),
          readyPath: '/readyz',
        }),
      ),
    ]);
    const webhookUrl = receiver.url;
    const sandbox = await startService(
      listeningService('sandbox', 'src/sandbox/main.ts', 'SANDBOX_PORT', sandboxPort, {
        env: { ...env, SANDBOX_CALLBACK_URL: webhookUrl },
        logDir: options.logDir,
        announcement: (line) => /^XGateway sandbox: API (http:\/\/\S+), control /.exec(line)?.[1],
        readyPath: '/__sandbox/requests',
      }),
    );
    const sandboxUrl = sandbox.url;
    const nodeFlags = workerNodeFlags();
    const workers = await Promise.all(
      ports.workerMetrics.map((port, index) => {
        const name = index === 0 ? 'worker' : `worker-${index + 1}`;
        const workerEnv = {
          ...env,
          XGATEWAY_BASE_URL: sandboxUrl,
          METRICS_PORT: String(port),
          WORKFLOW_BUNDLE_PATH: workflowBundle,
        };
        // Ready once created, connected and about to poll: its start-up line says so (its metrics come up earlier).
        return startService(
          service(
            name,
            () => launch(name, 'src/worker.ts', workerEnv, options.logDir, nodeFlags),
            async (child) => void (await announced(child, startupField('KYC worker started', 'taskQueue'), name)),
          ),
        );
      }),
    );
    return {
      temporal,
      keys,
      sandboxUrl,
      sandboxControlUrl: `${sandbox.origin}/__sandbox`,
      webhookUrl,
      encryptionKeys,
      codecServerUrl: codecServer?.origin,
      services: { temporal: temporalService, sandbox, receiver, workers },
      get worker(): ChildProcess {
        const process = workers[0]?.process;
        if (!process) throw new Error('the first worker is not running');
        return process;
      },
      logDir: options.logDir,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

let bundled: Promise<string> | undefined;

/**
 * Bundled here, so the workers never run webpack (whose memory their heaps would keep); once per process, for every
 * stack it starts (the bench and the chaos suite start several). Removed when the process exits. A bundle made ahead
 * (STACK_WORKFLOW_BUNDLE_PATH, which the test run sets for its stacks) is taken as it is. Not the worker's
 * WORKFLOW_BUNDLE_PATH: a shell that exports it for a production worker must not hand a stale bundle to the demo.
 */
function workflowBundleOnce(): Promise<string> {
  const madeAhead = process.env.STACK_WORKFLOW_BUNDLE_PATH;
  bundled ??= (async () => {
    if (madeAhead) return madeAhead;
    const bundleDir = mkdtempSync(join(tmpdir(), 'kyc-workflow-bundle-'));
    process.once('exit', () => rmSync(bundleDir, { recursive: true, force: true }));
    return bundleWorkflows(join(bundleDir, 'workflow-bundle.js'));
  })();
  return bundled;
}

/** The dev server as a service: a restart reuses its port and database file, as after a crash of a real server. */
function devServerService(options: DevServerOptions): Service {
  return service('temporal', async () => (await startDevServer(options)).process);
}

/**
 * Node's flags for the worker, as `npm run worker` (the production command) gives them: its heap cap above all, so
 * that the benchmark measures the worker as it is deployed.
 */
export function workerNodeFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { worker: string } };
  const command = /\bnode ((?:--[\w-]+(?:=\S+)? )*)--import tsx src\/worker\.ts/.exec(scripts.worker);
  if (!command)
    throw new Error(`package.json's worker script no longer reads "node <flags> --import tsx src/worker.ts"`);
  return (command[1] ?? '').split(' ').filter(Boolean);
}

/** A service that listens where its start-up line says: `url` is that URL, `origin` its origin. */
interface ListeningService extends Service {
  readonly url: string;
  readonly origin: string;
}

/**
 * A Node process that listens on `port`, or with 0 on the one the system picks, and names its URL in a line of its
 * stdout, which `announcement` finds. A restart asks for the port the first start got: whoever was told the address
 * (the sandbox, the workers) keeps it, as with a process restarted in place.
 */
function listeningService(
  name: string,
  entry: string,
  portVariable: string,
  port: number,
  options: {
    env: NodeJS.ProcessEnv;
    logDir: string;
    announcement: (line: string) => string | undefined;
    readyPath: string;
  },
): ListeningService {
  let url: URL | undefined;
  const inner = service(
    name,
    () => launch(name, entry, { ...options.env, [portVariable]: String(port) }, options.logDir, []),
    async (child) => {
      url = new URL(await announced(child, options.announcement, name));
      port = Number(url.port);
      await waitForHttp(`${url.origin}${options.readyPath}`, child, name);
    },
  );
  const started = () => {
    if (!url) throw new Error(`${name} has not started`);
    return url;
  };
  return Object.defineProperties(inner, {
    url: { get: () => started().href },
    origin: { get: () => started().origin },
  }) as ListeningService;
}

/** Finds a JSON start-up line by its message (logging.ts's `startupLogger`) and returns its `field`. */
function startupField(message: string, field = 'url'): (line: string) => string | undefined {
  return (line) => {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const value = entry[field];
    return entry.msg === message && typeof value === 'string' ? value : undefined;
  };
}

/**
 * Resolves with what `announcement` finds in a line of the child's stdout; rejects if the child exits first. It only
 * listens beside `launch`'s pipe to the log file, and never pauses the stream, which would stall the child's writes.
 */
function announced(
  child: ChildProcess,
  announcement: (line: string) => string | undefined,
  name: string,
  timeoutMs = 90_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${name} did not name the URL it listens on within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    const onData = (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const found = announcement(line);
        if (found === undefined) continue;
        done();
        resolve(found);
        return;
      }
    };
    const onExit = () => {
      done();
      // `launch` records the reason in its own exit listener, which runs first.
      reject(new Error((child as ChildProcess & { exitReason?: string }).exitReason ?? `${name} exited`));
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * A process that `spawnChild` starts and `ready` waits for; stop and kill are the same for every kind. The process is
 * kept before it is ready, so a stop still reaches one that never became ready.
 */
function service(
  name: string,
  spawnChild: () => ChildProcess | Promise<ChildProcess>,
  ready: (child: ChildProcess) => Promise<void> = async () => undefined,
): Service {
  let child: ChildProcess | undefined;
  return {
    name,
    get process() {
      return child;
    },
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) throw new Error(`${name} is already running`);
      child = await spawnChild();
      await ready(child);
    },
    async stop(graceMs) {
      if (child) await stopChild(child, graceMs);
      child = undefined;
    },
    async kill() {
      if (child) await killChild(child);
      child = undefined;
    },
  };
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

function launch(
  name: string,
  entry: string,
  env: NodeJS.ProcessEnv,
  logDir: string,
  nodeFlags: string[],
): ChildProcess {
  const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, [...nodeFlags, ...entryArgs(entry)], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-2000)));
  child.once('exit', (code) => {
    (child as ChildProcess & { exitReason?: string }).exitReason = `${name} exited (code ${code}): ${tail.trim()}`;
  });
  return child;
}

/** Resolves when `url` answers 200; rejects at once if the process dies first, with its last words. */
async function waitForHttp(url: string, child: ChildProcess, name: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = (child as ChildProcess & { exitReason?: string }).exitReason;
    if (reason) throw new Error(reason);
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} did not become ready at ${url} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
