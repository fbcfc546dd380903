// The codec server: Temporal's remote-codec contract, so the Web UI and `temporal ... --codec-endpoint` show decrypted
// payloads while the Temporal service only ever stores ciphertext. `POST /decode` and `POST /encode` take and give
// `{"payloads": [{"metadata": {name: base64}, "data": base64}]}`; the UI adds `X-Namespace`.
import { createHash, timingSafeEqual } from 'node:crypto';

import cors from '@fastify/cors';
import type { Payload } from '@temporalio/common';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';

import { createLogger } from '../logging.js';
import { firstIssue } from '../shared/validation.js';
import {
  EncryptionCodec,
  type EncryptionKey,
  PayloadDecryptionError,
  UnknownEncryptionKeyError,
} from './encryption-codec.js';

/**
 * Temporal refuses payloads over 2 MiB by default; base64 and JSON make that about 2.7 MiB. The UI decodes one event's
 * payloads per request, so 4 MiB leaves room without letting a caller make the server buffer much more.
 */
export const CODEC_BODY_LIMIT_BYTES = 4 * 2 ** 20;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
// Strict, so a body of another shape is refused rather than read as empty. protojson (the CLI's Go codec client)
// leaves out an empty list: `{}` is no payloads.
const payloadsBodySchema = z.strictObject({
  payloads: z
    .array(z.strictObject({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() }))
    .max(10_000)
    .default([]),
});
type JsonPayload = z.infer<typeof payloadsBodySchema>['payloads'][number];

export interface CodecServerOptions {
  keys: readonly EncryptionKey[];
  /** Origins whose pages may call the server, e.g. the Temporal UI's. */
  allowedOrigins: readonly string[];
  /** When set, every `/encode` and `/decode` needs `Authorization: Bearer <token>`. */
  token?: string;
  logger?: FastifyBaseLogger;
}

/** Builds the codec server (not yet listening): `POST /encode`, `POST /decode`, `GET /healthz`. */
export async function createCodecServer(options: CodecServerOptions): Promise<FastifyInstance> {
  const codec = await EncryptionCodec.create(options.keys);
  const app = Fastify({
    loggerInstance: options.logger ?? createLogger('kyc-codec-server'),
    bodyLimit: CODEC_BODY_LIMIT_BYTES,
  });
  // The UI calls from the browser: the preflight and the answers carry CORS headers for the allowed origins only.
  await app.register(cors, {
    origin: [...options.allowedOrigins],
    methods: ['POST'],
    allowedHeaders: ['Content-Type', 'X-Namespace', 'Authorization'],
    credentials: true,
    maxAge: 600,
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      reply.log.error({ err: error }, 'codec server error');
      return reply.code(500).send({ error: 'internal error' });
    }
    // fastify's own refusals: malformed JSON, a body over the limit, a media type other than JSON.
    return reply.code(status).send({ error: error.message });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }));
  app.get('/healthz', async () => ({ ok: true }));

  // Checked when the request arrives, before its body is read: a caller without the token learns nothing about the
  // schema and cannot make the server parse megabytes. Preflights carry no credentials and pass.
  const expectedToken = options.token === undefined ? undefined : digest(options.token);
  app.addHook('onRequest', async (request, reply) => {
    if (!expectedToken || request.method === 'OPTIONS' || request.url === '/healthz') return;
    const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '');
    // Equal-length digests compared in constant time: the answer's timing says nothing about the token.
    if (match?.[1] === undefined || !timingSafeEqual(digest(match[1]), expectedToken)) {
      return reply.code(401).send({ error: 'missing or wrong bearer token' });
    }
  });

  for (const direction of ['encode', 'decode'] as const) {
    app.post(`/${direction}`, async (request, reply) => {
      const body = payloadsBodySchema.safeParse(request.body);
      if (!body.success) return refuse(reply, firstIssue(body.error, 'body'));
      try {
        const payloads = body.data.payloads.map(fromJson);
        const result = direction === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
        reply.log.info(
          { namespace: request.headers['x-namespace'], count: payloads.length, direction },
          'payloads coded',
        );
        return { payloads: result.map(toJson) };
      } catch (error) {
        if (error instanceof UnknownEncryptionKeyError || error instanceof PayloadDecryptionError) {
          return refuse(reply, `${error.name}: ${error.message}`);
        }
        throw error;
      }
    });
  }
  return app;
}

/** A 400 that says why, to the caller and in the log (the reason never holds payload data). */
function refuse(reply: FastifyReply, error: string) {
  reply.log.warn({ error }, 'payloads refused');
  return reply.code(400).send({ error });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function fromJson(payload: JsonPayload): Payload {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([name, value]) => [name, bytes(value)]),
  );
  return { metadata, data: bytes(payload.data ?? '') };
}

function toJson(payload: Payload): JsonPayload {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([name, value]) => [name, Buffer.from(value).toString('base64')]),
  );
  return { metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') };
}

function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}
