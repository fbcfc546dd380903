// A configuration mistake stops a process at start with one line on stderr that names the variable, exit code 1, no
// stack trace, and no secret (docs/style.md, habit 6). The parsing alone is checked in-process, where it is cheap;
// the entry points run as their own processes for the failures that only show at start (ports, Temporal, files).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { entryArgs } from '../scripts/lib/entry.js';
import { temporalConnectionFromEnv } from '../src/config.js';
import { loadSandboxConfig } from '../src/sandbox/main.js';
import { loadWorkerConfig } from '../src/worker.js';
import { runEntry } from './helpers/processes.js';
import { testAddress } from './helpers/temporal.js';

/** Every env below carries it as a key; no refusal may repeat it. */
const SECRET = `secret-${randomUUID()}`;
const UNREACHABLE = '127.0.0.1:1';
/** TEST-NET-1 (RFC 5737): no interface here has it, so listening on it fails without any DNS. */
const FOREIGN_HOST = '192.0.2.1';

type Run = Awaited<ReturnType<typeof runEntry>>;

/** The refusal is one line matching `pattern`, exit code 1, and holds no secret. */
function expectOneLine(run: Run, pattern: RegExp): void {
  expect(run.stderr).not.toContain(SECRET);
  expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(pattern)]);
  expect(run.code).toBe(1);
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

// Each spawn costs a second or two of CPU on a shared two-core machine: run them two at a time, queued up front so
// that every test below only waits for its own process.
const lanes: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
let queued = 0;
function queue(entry: string, env: () => Record<string, string>): Promise<Run> {
  const lane = queued++ % lanes.length;
  const run = (lanes[lane] as Promise<unknown>).then(() => runEntry(entry, env()));
  lanes[lane] = run;
  return run;
}

/** A port some other process holds. */
let busy: Server;
let busyPort = 0;
const runs = new Map<string, Promise<Run>>();

/** The sandbox's refusals at start, which only its process shows; its parsing is checked in-process below. */
const SANDBOX_CASES: [string, Record<string, string>, RegExp][] = [
  [
    'a host it cannot listen on',
    { SANDBOX_HOST: FOREIGN_HOST, SANDBOX_PORT: '0' },
    /^SANDBOX_HOST: cannot listen on 192\.0\.2\.1:0: /,
  ],
  [
    // A parse failure too, once through the process: the same one line on stderr, and exit code 1.
    'a callback URL that is not http(s)',
    { SANDBOX_CALLBACK_URL: `ftp://user:${SECRET}@127.0.0.1/cb` },
    /^Invalid configuration: SANDBOX_CALLBACK_URL: /,
  ],
];

const WORKER_CASES: [string, () => Record<string, string>, RegExp][] = [
  [
    'an unreachable TEMPORAL_ADDRESS',
    // An API key turns TLS on; the refusal must not repeat it either.
    () => ({ TEMPORAL_ADDRESS: UNREACHABLE, TEMPORAL_API_KEY: SECRET }),
    /^kyc-worker: TEMPORAL_ADDRESS: cannot connect to Temporal at 127\.0\.0\.1:1: /,
  ],
  [
    'a malformed TEMPORAL_ADDRESS',
    () => ({ TEMPORAL_ADDRESS: 'http://127.0.0.1:7233' }),
    /^Invalid Temporal configuration: TEMPORAL_ADDRESS: /,
  ],
  [
    'a TEMPORAL_NAMESPACE the server does not have',
    () => ({ TEMPORAL_ADDRESS: testAddress(), TEMPORAL_NAMESPACE: `missing-${randomUUID()}` }),
    /^kyc-worker: TEMPORAL_NAMESPACE: namespace "missing-[0-9a-f-]+" at \S+: .*not found/,
  ],
  ['a METRICS_PORT in use', () => ({ METRICS_PORT: String(busyPort) }), /^kyc-worker: METRICS_PORT: /],
  [
    'a WORKFLOW_BUNDLE_PATH that does not exist',
    () => ({ WORKFLOW_BUNDLE_PATH: '/nonexistent/workflow-bundle.js' }),
    /^kyc-worker: WORKFLOW_BUNDLE_PATH: cannot read \/nonexistent\/workflow-bundle\.js/,
  ],
];

beforeAll(async () => {
  busy = createServer().listen(0, '127.0.0.1');
  await once(busy, 'listening');
  busyPort = (busy.address() as { port: number }).port;
  const sandboxKeys = { XGATEWAY_API_KEY: SECRET, XGATEWAY_SECRET_KEY: SECRET };
  for (const [name, env] of SANDBOX_CASES) {
    runs.set(
      `sandbox ${name}`,
      queue('src/sandbox/main.ts', () => ({ ...sandboxKeys, ...env })),
    );
  }
  runs.set(
    'sandbox busy port',
    queue('src/sandbox/main.ts', () => ({ ...sandboxKeys, SANDBOX_PORT: String(busyPort) })),
  );
  // A base URL of its own, so that the worker's only complaint is the one under test.
  const workerKeys = { XGATEWAY_API_KEY: SECRET, XGATEWAY_BASE_URL: 'http://127.0.0.1:9/api/v2' };
  for (const [name, env] of WORKER_CASES) {
    runs.set(
      `worker ${name}`,
      queue('src/worker.ts', () => ({ ...workerKeys, ...env() })),
    );
  }
  runs.set(
    'receiver malformed address',
    queue('src/webhook/main.ts', () => ({
      XGATEWAY_SECRET_KEY: SECRET,
      WEBHOOK_PORT: '0',
      TEMPORAL_ADDRESS: 'not an address',
    })),
  );
});

afterAll(async () => {
  // Nothing may still be running when the port is given back.
  await Promise.all(runs.values());
  busy.close();
});

const resultOf = (name: string): Promise<Run> => {
  const run = runs.get(name);
  if (!run) throw new Error(`no run named ${name}`);
  return run;
};

describe('the sandbox (src/sandbox/main.ts)', () => {
  const base = { XGATEWAY_API_KEY: SECRET, XGATEWAY_SECRET_KEY: SECRET };
  it.each([
    ['SANDBOX_PORT', 'not a number', { SANDBOX_PORT: 'eighty' }],
    ['SANDBOX_HOST', 'empty', { SANDBOX_HOST: '' }],
    ['XGATEWAY_SECRET_KEY', 'empty', { XGATEWAY_SECRET_KEY: '' }],
    ['SANDBOX_CALLBACK_URL', 'not http(s), with credentials', { SANDBOX_CALLBACK_URL: `ftp://u:${SECRET}@127.0.0.1/` }],
    ['SANDBOX_PROCESSING_DELAY_MS', 'negative', { SANDBOX_PROCESSING_DELAY_MS: '-1' }],
  ])('refuses %s %s, naming it in one line', (variable, _what, env) => {
    const message = messageOf(() => loadSandboxConfig({ ...base, ...env }));
    expect(message).toMatch(new RegExp(`^Invalid configuration: ${variable}: [^\\n]+$`));
    expect(message).not.toContain(SECRET);
  });

  it.each(SANDBOX_CASES)('refuses %s with one line naming the variable', async (name, _env, pattern) => {
    expectOneLine(await resultOf(`sandbox ${name}`), pattern);
  });

  it('refuses a busy SANDBOX_PORT with one line naming it', async () => {
    expectOneLine(
      await resultOf('sandbox busy port'),
      new RegExp(`^SANDBOX_PORT: port ${busyPort} on 127\\.0\\.0\\.1 is already in use$`),
    );
  });
});

describe('the worker (src/worker.ts)', () => {
  const base = { XGATEWAY_API_KEY: SECRET };
  it.each([
    ['XGATEWAY_BASE_URL', 'not a URL', { XGATEWAY_BASE_URL: 'not a url' }],
    ['XGATEWAY_BASE_URL', 'not http(s), with credentials', { XGATEWAY_BASE_URL: `ftp://u:${SECRET}@vendor.example/` }],
    ['XGATEWAY_BASE_URL', 'unset with NODE_ENV=production', { NODE_ENV: 'production' }],
    ['XGATEWAY_POST_TIMEOUT_MS', 'not a number', { XGATEWAY_POST_TIMEOUT_MS: 'soon' }],
    ['XGATEWAY_POST_TIMEOUT_MS', 'under 1 s', { XGATEWAY_POST_TIMEOUT_MS: '999' }],
    ['XGATEWAY_POST_TIMEOUT_MS', 'over the start activity allows', { XGATEWAY_POST_TIMEOUT_MS: '540001' }],
    ['XGATEWAY_GET_TIMEOUT_MS', 'under 100 ms', { XGATEWAY_GET_TIMEOUT_MS: '99' }],
    ['XGATEWAY_GET_TIMEOUT_MS', 'over the heartbeat timeout allows', { XGATEWAY_GET_TIMEOUT_MS: '20001' }],
    ['METRICS_PORT', 'over 65535', { METRICS_PORT: '65536' }],
    ['METRICS_HOST', 'empty', { METRICS_HOST: '' }],
    ['WORKFLOW_BUNDLE_PATH', 'empty', { WORKFLOW_BUNDLE_PATH: '' }],
    ['WORKER_MAX_CONCURRENT_ACTIVITIES', '0', { WORKER_MAX_CONCURRENT_ACTIVITIES: '0' }],
    ['WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', '1', { WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '1' }],
    ['WORKER_BUILD_ID', 'missing beside WORKER_DEPLOYMENT_NAME', { WORKER_DEPLOYMENT_NAME: 'kyc' }],
    ['WORKER_DEPLOYMENT_NAME', 'missing beside WORKER_BUILD_ID', { WORKER_BUILD_ID: 'b1' }],
    ['LOG_LEVEL', 'not a pino level', { LOG_LEVEL: 'loud' }],
    ['KYC_TASK_QUEUE', 'empty', { KYC_TASK_QUEUE: '' }],
  ])('refuses %s %s, naming it in one line', (variable, _what, env) => {
    const message = messageOf(() => loadWorkerConfig({ ...base, ...env }));
    expect(message).toMatch(new RegExp(`^Invalid configuration: ${variable}: [^\\n]+$`));
    expect(message).not.toContain(SECRET);
  });

  it('accepts the documented limits of its timeouts', () => {
    const limits = { XGATEWAY_POST_TIMEOUT_MS: '540000', XGATEWAY_GET_TIMEOUT_MS: '20000' };
    expect(loadWorkerConfig({ ...base, ...limits })).toMatchObject({
      XGATEWAY_POST_TIMEOUT_MS: 540_000,
      XGATEWAY_GET_TIMEOUT_MS: 20_000,
    });
  });

  it.each(WORKER_CASES)('stops at start on %s with one line naming it', async (name, _env, pattern) => {
    expectOneLine(await resultOf(`worker ${name}`), pattern);
  });
});

describe("Temporal's connection variables (temporalConnectionFromEnv)", () => {
  it.each([
    ['TEMPORAL_ADDRESS', 'with a space', { TEMPORAL_ADDRESS: 'not an address' }],
    ['TEMPORAL_ADDRESS', 'as a URL', { TEMPORAL_ADDRESS: 'http://127.0.0.1:7233' }],
    ['TEMPORAL_ADDRESS', 'with a port over 65535', { TEMPORAL_ADDRESS: '127.0.0.1:72330' }],
    ['TEMPORAL_ADDRESS', 'empty', { TEMPORAL_ADDRESS: '' }],
    ['TEMPORAL_NAMESPACE', 'empty', { TEMPORAL_NAMESPACE: '' }],
    // Half an mTLS pair would connect without a client certificate: the server's refusal would not say why.
    [
      'TEMPORAL_TLS_CLIENT_KEY_PATH',
      'missing beside a certificate',
      { TEMPORAL_TLS_CLIENT_CERT_PATH: '/etc/hostname' },
    ],
    ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'missing beside a key', { TEMPORAL_TLS_CLIENT_KEY_DATA: SECRET }],
    [
      'TEMPORAL_TLS_CLIENT_CERT_PATH',
      'naming a file that does not exist',
      { TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent/cert.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: '/nonexistent/key.pem' },
    ],
  ])('refuses %s %s, naming it in one line', (variable, _what, env) => {
    const message = messageOf(() => temporalConnectionFromEnv({ TEMPORAL_API_KEY: SECRET, ...env }));
    expect(message).toMatch(new RegExp(`^Invalid Temporal configuration: ${variable}: [^\\n]+$`));
    expect(message).not.toContain(SECRET);
  });

  it.each([
    '127.0.0.1:7233',
    'localhost',
    '[::1]:7233',
    'kyc.a1b2c.tmprl.cloud:7233',
    'temporal_frontend:7233',
    'temporal-frontend.temporal.svc.cluster.local.:7233',
  ])('accepts the address %s', (address) => {
    expect(temporalConnectionFromEnv({ TEMPORAL_ADDRESS: address }).connectionOptions.address).toBe(address);
  });

  it('takes a whole mTLS pair', () => {
    const file = fileURLToPath(new URL('../package.json', import.meta.url));
    const { tls } = temporalConnectionFromEnv({
      TEMPORAL_TLS_CLIENT_CERT_PATH: file,
      TEMPORAL_TLS_CLIENT_KEY_PATH: file,
    }).connectionOptions;
    expect(tls).toMatchObject({ clientCertPair: { crt: expect.any(Uint8Array), key: expect.any(Uint8Array) } });
  });

  it('refuses a malformed TEMPORAL_ADDRESS in the receiver too, which otherwise starts and answers 503 for ever', async () => {
    expectOneLine(await resultOf('receiver malformed address'), /^Invalid Temporal configuration: TEMPORAL_ADDRESS: /);
  });

  it('lets the receiver start with Temporal unreachable, answering /readyz 503, as XGateway retries (docs/operations.md)', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const receiver = spawn(process.execPath, entryArgs('src/webhook/main.ts'), {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        TEMPORAL_ADDRESS: UNREACHABLE,
        XGATEWAY_SECRET_KEY: SECRET,
        WEBHOOK_PORT: '0',
        METRICS_PORT: '0',
        // The start-up line still names the port the system picked: it is the only place it appears.
        LOG_LEVEL: 'warn',
      },
    });
    let stderr = '';
    receiver.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(receiver, 'exit');
    try {
      const lines: Record<string, unknown>[] = [];
      for await (const line of createInterface({ input: receiver.stdout })) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
        if (lines.at(-1)?.msg === 'receiver ready') break;
      }
      // Only the start-up line passes LOG_LEVEL=warn (Fastify's own "Server listening at" is info).
      expect(lines).toHaveLength(1);
      const [ready] = lines;
      expect(ready).toMatchObject({ temporal: UNREACHABLE, metricsUrl: null });
      const { origin: url, pathname, port } = new URL(String(ready?.url));
      expect({ pathname, picked: Number(port) > 0 }).toEqual({ pathname: '/callbacks/kyc', picked: true });
      expect(stderr).toBe('');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const readiness = await fetch(`${url}/readyz`);
      expect({ status: readiness.status, body: await readiness.json() }).toEqual({
        status: 503,
        body: { error: 'temporal unreachable' },
      });
    } finally {
      receiver.kill('SIGTERM');
      await exited;
    }
    expect(receiver.exitCode).toBe(0);
  });
});
