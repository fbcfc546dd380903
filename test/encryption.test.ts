// Encrypted histories (docs/operations.md, "Encrypted histories"): with PAYLOAD_ENCRYPTION_KEYS the Temporal service
// stores ciphertext only, the processes that hold the keys read everything back, keys rotate without a restart of
// open runs, and the codec server lets the UI and the CLI decrypt.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, WorkflowFailedError } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { temporal as proto } from '@temporalio/proto';
import type { FastifyInstance } from 'fastify';

import { ensureTemporalCli } from '../scripts/setup.mjs';
import { startKycVerification } from '../src/client.js';
import { createDataConverter } from '../src/codec/data-converter.js';
import {
  EncryptionCodec,
  type EncryptionKey,
  KEY_ID_METADATA,
  PayloadDecryptionError,
  UnknownEncryptionKeyError,
} from '../src/codec/encryption-codec.js';
import { loadCodecServerConfig } from '../src/codec/main.js';
import { createCodecServer } from '../src/codec/server.js';
import { loadWorkerConfig } from '../src/worker.js';
import { approving, newCustomerId, softThenVerified } from './fixtures/customers.js';
import {
  createKycStack,
  eventually,
  historyEvents,
  historyTexts,
  type KycStack,
  resubmit,
  waitForPhase,
  walkHistory,
} from './helpers/kyc.js';
import { runEntry } from './helpers/processes.js';
import { testAddress } from './helpers/temporal.js';

const run = promisify(execFile);
const EventType = proto.api.enums.v1.EventType;
const newKey = (id: string): EncryptionKey => ({ id, bytes: new Uint8Array(randomBytes(32)) });
/** A decoded payload as plain Uint8Arrays, so it compares equal to one made here. */
const plainPayload = ({ metadata, data }: Payload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([n, v]) => [n, new Uint8Array(v)])),
  data: new Uint8Array(data ?? []),
});
const json = (value: unknown): Payload => ({
  metadata: { encoding: new TextEncoder().encode('json/plain') },
  data: new TextEncoder().encode(JSON.stringify(value)),
});

/** What the vendor said in the runs below: none of it may reach the Temporal service in the clear. */
const VENDOR_TEXT = [
  'SOFT_KYC_FAILED',
  'FULL_USER',
  'KYC_PENDING',
  'BAD_SELFIE',
  'SELFIE',
  'Your selfie could not be matched',
  'KYC verification could not be started',
];

const utf8 = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());

const leaks = (texts: string[]) => VENDOR_TEXT.filter((text) => texts.some((found) => found.includes(text)));

describe('the payload codec', () => {
  const current = newKey('current');
  const previous = newKey('previous');

  it('encrypts every payload with a fresh IV under the first key, naming it, and reads it back', async () => {
    const codec = await EncryptionCodec.create([current, previous]);
    const plain = json({ status: 'FULL_USER' });
    const [first, second] = await codec.encode([plain, plain]);
    expect(new TextDecoder().decode(first?.metadata?.encoding)).toBe('binary/encrypted');
    expect(new TextDecoder().decode(first?.metadata?.[KEY_ID_METADATA])).toBe('current');
    expect(Buffer.from(first?.data ?? []).includes('FULL_USER')).toBe(false);
    // Same plaintext, different IVs, different ciphertexts.
    expect(Buffer.from(first?.data ?? []).subarray(0, 12)).not.toEqual(Buffer.from(second?.data ?? []).subarray(0, 12));
    expect((await codec.decode([first as Payload])).map(plainPayload)).toEqual([plain]);
  });

  it('decrypts with any key it holds, so a new key can go first', async () => {
    const [old] = await (await EncryptionCodec.create([previous])).encode([json('before the rotation')]);
    const rotated = await EncryptionCodec.create([current, previous]);
    expect((await rotated.decode([old as Payload])).map(plainPayload)).toEqual([json('before the rotation')]);
  });

  it('refuses a key it does not hold by name, and a damaged payload, and never passes either through', async () => {
    const [sealed] = await (await EncryptionCodec.create([newKey('stranger')])).encode([json('secret')]);
    const codec = await EncryptionCodec.create([current]);
    await expect(codec.decode([sealed as Payload])).rejects.toThrow(UnknownEncryptionKeyError);
    await expect(codec.decode([sealed as Payload])).rejects.toThrow(/key "stranger", which PAYLOAD_ENCRYPTION_KEYS/);
    const [mine] = await codec.encode([json('secret')]);
    const damaged = { ...mine, data: Uint8Array.from(mine?.data ?? [], (byte, i) => (i === 20 ? byte ^ 1 : byte)) };
    await expect(codec.decode([damaged])).rejects.toThrow(PayloadDecryptionError);
  });

  it('leaves payloads written before encryption was turned on readable', async () => {
    const codec = await EncryptionCodec.create([current]);
    expect(await codec.decode([json('plain')])).toEqual([json('plain')]);
  });
});

describe('PAYLOAD_ENCRYPTION_KEYS', () => {
  const good = Buffer.alloc(32, 7).toString('base64');
  it.each([
    ['no key id', good],
    ['an empty entry', `a:${good},`],
    ['16 bytes', `a:${Buffer.alloc(16).toString('base64')}`],
    ['not base64', `a:${'%'.repeat(44)}`],
    ['a repeated id', `a:${good},a:${good}`],
    ['a bad id', `a b:${good}`],
  ])('refuses %s, naming the variable and never the key', (_case, value) => {
    expect(() => loadWorkerConfig({ XGATEWAY_API_KEY: 'k', PAYLOAD_ENCRYPTION_KEYS: value })).toThrow(
      /^Invalid configuration: PAYLOAD_ENCRYPTION_KEYS: /,
    );
    // Whatever the entry held, the message never repeats it.
    const material = value.slice(value.indexOf(':') + 1).split(',')[0] ?? '';
    let message = '';
    try {
      loadWorkerConfig({ XGATEWAY_API_KEY: 'k', PAYLOAD_ENCRYPTION_KEYS: value });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(material.length).toBeGreaterThan(10);
    expect(message).not.toContain(material);
  });

  it('takes keys in order, the first to encrypt', () => {
    const config = loadWorkerConfig({ XGATEWAY_API_KEY: 'k', PAYLOAD_ENCRYPTION_KEYS: `new:${good}, old:${good}` });
    expect(config.PAYLOAD_ENCRYPTION_KEYS?.map((key) => key.id)).toEqual(['new', 'old']);
    expect(loadWorkerConfig({ XGATEWAY_API_KEY: 'k', PAYLOAD_ENCRYPTION_KEYS: '' }).PAYLOAD_ENCRYPTION_KEYS).toBe(
      undefined,
    );
  });

  it.each([
    ['the worker', 'src/worker.ts', { XGATEWAY_API_KEY: 'k' }],
    ['the receiver', 'src/webhook/main.ts', { XGATEWAY_SECRET_KEY: 's' }],
    ['the codec server', 'src/codec/main.ts', {}],
  ])('%s stops with one line naming it when a key is malformed', async (_who, entry, env) => {
    const failure = await runEntry(entry, { ...env, PAYLOAD_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' });
    expect(failure.code).toBe(1);
    expect(failure.stderr.trim().split('\n')).toEqual([
      'Invalid configuration: PAYLOAD_ENCRYPTION_KEYS: key "k1" is not the base64 of 32 bytes (make one with: openssl rand -base64 32)',
    ]);
  });
});

describe('encrypted verifications on the dev server', () => {
  const key = newKey('k1');
  let stack: KycStack;
  beforeAll(async () => {
    stack = await createKycStack({ encryptionKeys: [key] });
  });
  afterAll(async () => stack.close());

  it('the service stores the vendor’s statuses only as KycStatus, its labels and messages nowhere, and the keys read it all back', async () => {
    const resubmitted = newCustomerId('enc-soft');
    const refused = newCustomerId('enc-refused');
    stack.sandbox.scriptCustomer(resubmitted, softThenVerified());
    stack.sandbox.scriptCustomer(refused, approving({ postResponse: 'refusal' }));
    await stack.withKycWorker(async ({ start }) => {
      const soft = await start({ customerId: resubmitted, timing: { firstCheckAfter: '10m' } });
      await waitForPhase(soft, 'AWAITING_RESUBMISSION');
      await resubmit(soft);
      expect(await soft.result()).toMatchObject({ outcome: 'VERIFIED', status: 'FULL_USER' });
      expect(await (await soft.describe()).staticSummary()).toBe(`KYC verification of customer ${resubmitted}`);

      const failing = await start({ customerId: refused });
      const error = await failing.result().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect((error as WorkflowFailedError).cause?.message).toMatch(/KYC verification could not be started/);

      const histories = [await soft.fetchHistory(), await failing.fetchHistory()];
      // The check can fail: decrypted, the same histories hold every one of these words.
      const codec = await EncryptionCodec.create([key]);
      expect(leaks(await historyTexts(histories, codec))).toEqual(VENDOR_TEXT);
      expect(leaks(await historyTexts(histories))).toEqual([]);
      // The plain exception, by design: the confirmed status as the KycStatus search attribute.
      const upserts = await historyEvents(soft, EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
      const published = upserts.map((event) =>
        utf8(event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.KycStatus?.data),
      );
      expect(published).toContain('"FULL_USER"');
      const [started] = await historyEvents(soft, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
      const summary = started?.userMetadata?.summary;
      expect(utf8(summary?.metadata?.encoding)).toBe('binary/encrypted');
      // The failure's message went into its encrypted attributes; only a placeholder is stored.
      const [failed] = await historyEvents(failing, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
      expect(failed?.workflowExecutionFailedEventAttributes?.failure?.message).toBe('Encoded failure');
    });
  });

  it('runs started under the old key complete after a new key is put first', async () => {
    const customerId = newCustomerId('enc-rotation');
    stack.sandbox.scriptCustomer(customerId, softThenVerified());
    const before = stack.helpers();
    const handle = await before.start({ customerId, timing: { firstCheckAfter: '10m' } });
    const oldWorker = await before.createWorker();
    await oldWorker.runUntil(waitForPhase(handle, 'AWAITING_RESUBMISSION'));

    const rotated = [newKey('k2'), key];
    const client = new Client({
      connection: stack.client.connection,
      dataConverter: await createDataConverter(rotated),
    });
    const after = stack.helpers({ taskQueue: before.taskQueue, encryptionKeys: rotated });
    const result = await (
      await after.createWorker()
    ).runUntil(async () => {
      await resubmit(client.workflow.getHandle(handle.workflowId));
      return client.workflow.getHandle(handle.workflowId).result();
    });
    expect(result).toMatchObject({ outcome: 'VERIFIED', status: 'FULL_USER' });

    const keyIds = new Set<string>();
    await walkHistory(await handle.fetchHistory(), {
      payload: async ({ metadata }) =>
        void (metadata?.[KEY_ID_METADATA] && keyIds.add(utf8(metadata[KEY_ID_METADATA]))),
    });
    expect([...keyIds].sort()).toEqual(['k1', 'k2']);
    // A process still on the old key alone cannot read what the new key wrote, and says why.
    await expect(handle.result()).rejects.toThrow(UnknownEncryptionKeyError);
  });

  it('a payload under a key the worker lacks fails the task with the named error, and the worker goes on', async () => {
    const stranger = new Client({
      connection: stack.client.connection,
      dataConverter: await createDataConverter([newKey('stranger')]),
    });
    const { taskQueue, createWorker, start } = stack.helpers();
    const lost = await startKycVerification(stranger, { customerId: newCustomerId('enc-stranger') }, { taskQueue });
    const customerId = newCustomerId('enc-after-stranger');
    stack.sandbox.scriptCustomer(customerId, approving());
    await (
      await createWorker()
    ).runUntil(async () => {
      const [failedTask] = await eventually(async () => {
        const events = await historyEvents(lost, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
        return events.length ? events : undefined;
      }, 'a failed workflow task');
      const failure = failedTask?.workflowTaskFailedEventAttributes?.failure;
      // The SDK core keeps only message and stack of a task failure; both are in its encrypted attributes.
      expect(failure?.message).toBe('Encoded failure');
      const [attributes] = await (await EncryptionCodec.create([key])).decode([failure?.encodedAttributes as Payload]);
      expect(JSON.parse(new TextDecoder().decode(attributes?.data))).toMatchObject({
        message: expect.stringMatching(/^payload encrypted with key "stranger", which PAYLOAD_ENCRYPTION_KEYS/),
        stack_trace: expect.stringMatching(/^UnknownEncryptionKeyError: /),
      });
      // The same worker still serves other verifications.
      expect(await (await start({ customerId })).result()).toMatchObject({ outcome: 'VERIFIED' });
    });
    await lost.terminate('test: encrypted with a key no worker holds');
  });

  describe('the codec server', () => {
    const token = `token-${randomBytes(8).toString('hex')}`;
    const ui = 'http://localhost:8233';
    let server: FastifyInstance;
    let url: string;
    beforeAll(async () => {
      server = await createCodecServer({ keys: [key], allowedOrigins: [ui], token, logger: undefined });
      server.log.level = 'silent';
      await server.listen({ host: '127.0.0.1', port: 0 });
      const address = server.server.address();
      if (typeof address !== 'object' || address === null) throw new Error('codec server has no address');
      url = `http://127.0.0.1:${address.port}`;
    });
    afterAll(async () => server.close());

    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    const bearer = { authorization: `Bearer ${token}` };
    const asJson = (payload: Payload) => ({
      metadata: Object.fromEntries(
        Object.entries(payload.metadata ?? {}).map(([n, v]) => [n, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(payload.data ?? []).toString('base64'),
    });

    it('answers the UI’s preflight for its origin only', async () => {
      const preflight = (origin: string) =>
        fetch(`${url}/decode`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type,x-namespace,authorization',
          },
        });
      const allowed = await preflight(ui);
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(ui);
      expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-namespace');
      expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
      expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    });

    it('encodes and decodes in the contract’s JSON, for a caller with the token', async () => {
      const plain = asJson(json({ status: 'FULL_USER' }));
      const encoded = await post('/encode', { payloads: [plain] }, bearer);
      expect(encoded.status).toBe(200);
      const [sealed] = encoded.json.payloads as ReturnType<typeof asJson>[];
      expect(Buffer.from(sealed?.metadata.encoding ?? '', 'base64').toString()).toBe('binary/encrypted');
      const decoded = await post('/decode', { payloads: [sealed] }, { ...bearer, origin: ui });
      expect(decoded).toEqual({ status: 200, json: { payloads: [plain] } });
    });

    it('refuses a missing or wrong token, and bad bodies, with the reason', async () => {
      const body = { payloads: [asJson(json(1))] };
      expect((await post('/decode', body)).status).toBe(401);
      expect((await post('/decode', body, { authorization: 'Bearer nope' })).status).toBe(401);
      expect((await post('/decode', body, { authorization: token })).status).toBe(401);
      expect(await post('/decode', { payloads: [{ data: 'not base64!' }] }, bearer)).toEqual({
        status: 400,
        json: { error: 'payloads.0.data: must be base64' },
      });
      expect((await post('/decode', '{"payloads":', bearer)).status).toBe(400);
      expect((await post('/decode', { other: [] }, bearer)).status).toBe(400);
      // protojson, as the CLI sends it, leaves an empty list out.
      expect(await post('/decode', {}, bearer)).toEqual({ status: 200, json: { payloads: [] } });
      const [foreign] = await (await EncryptionCodec.create([newKey('stranger')])).encode([json(1)]);
      const unknown = await post('/decode', { payloads: [asJson(foreign as Payload)] }, bearer);
      expect(unknown.status).toBe(400);
      expect(unknown.json.error).toMatch(/^UnknownEncryptionKeyError: payload encrypted with key "stranger"/);
      const huge = await post('/decode', { payloads: [{ data: 'A'.repeat(5 * 2 ** 20) }] }, bearer);
      expect(huge.status).toBe(413);
    });

    it('lets `temporal workflow show --codec-endpoint` print a decrypted history', async () => {
      const customerId = newCustomerId('enc-cli');
      stack.sandbox.scriptCustomer(customerId, approving());
      const workflowId = await stack.withKycWorker(async ({ start }) => {
        const handle = await start({ customerId });
        await handle.result();
        return handle.workflowId;
      });
      const show = (...extra: string[]) =>
        run(ensureTemporalCli(), [
          'workflow',
          'show',
          '--address',
          testAddress(),
          '--workflow-id',
          workflowId,
          ...extra,
        ]);
      const decrypted = await show('--codec-endpoint', url, '--codec-auth', `Bearer ${token}`);
      expect(decrypted.stdout).toContain('FULL_USER');
      expect(decrypted.stdout).toContain(customerId);
      expect((await show()).stdout).not.toContain('FULL_USER');
    });
  });
});

describe('codec server configuration', () => {
  const keys = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
  it('listens on loopback port 8888 for the local UI by default', () => {
    expect(loadCodecServerConfig({ PAYLOAD_ENCRYPTION_KEYS: keys })).toMatchObject({
      CODEC_SERVER_HOST: '127.0.0.1',
      CODEC_SERVER_PORT: 8888,
      CODEC_SERVER_ALLOWED_ORIGINS: ['http://localhost:8233', 'http://127.0.0.1:8233'],
    });
  });

  it('refuses to listen beyond loopback without a token, and needs the keys', () => {
    expect(() => loadCodecServerConfig({ PAYLOAD_ENCRYPTION_KEYS: keys, CODEC_SERVER_HOST: '0.0.0.0' })).toThrow(
      /^Invalid configuration: CODEC_SERVER_TOKEN: required when CODEC_SERVER_HOST \(0\.0\.0\.0\) is not loopback$/,
    );
    expect(
      loadCodecServerConfig({ PAYLOAD_ENCRYPTION_KEYS: keys, CODEC_SERVER_HOST: '0.0.0.0', CODEC_SERVER_TOKEN: 't' }),
    ).toMatchObject({ CODEC_SERVER_HOST: '0.0.0.0' });
    expect(() => loadCodecServerConfig({})).toThrow(/^Invalid configuration: PAYLOAD_ENCRYPTION_KEYS: required/);
    expect(() =>
      loadCodecServerConfig({ PAYLOAD_ENCRYPTION_KEYS: keys, CODEC_SERVER_ALLOWED_ORIGINS: 'localhost:8233' }),
    ).toThrow(/^Invalid configuration: CODEC_SERVER_ALLOWED_ORIGINS\.0: each origin must be/);
  });
});
