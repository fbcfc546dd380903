// The data converter of every process that reads or writes this project's payloads: worker, receiver, client, demo,
// bench and codec server. With PAYLOAD_ENCRYPTION_KEYS set it encrypts; without, payloads stay plain as before.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { DataConverter } from '@temporalio/common';
import { z } from 'zod';

import { EncryptionCodec, type EncryptionKey } from './encryption-codec.js';

/** Source (.ts under tsx) or compiled (.js): the failure converter sits next to this file either way. */
export const failureConverterPath = fileURLToPath(
  new URL(`./failure-converter${extname(import.meta.url)}`, import.meta.url),
);

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * `id1:<base64 of 32 bytes>,id2:<...>`: the first key encrypts, all of them decrypt. Problems name the entry or the
 * key id, never the key material.
 */
export const encryptionKeysSchema = z.string().transform((value, ctx): EncryptionKey[] => {
  const keys: EncryptionKey[] = [];
  const entries = value.split(',').map((entry) => entry.trim());
  for (const [index, entry] of entries.entries()) {
    const separator = entry.indexOf(':');
    const id = entry.slice(0, Math.max(separator, 0));
    const material = entry.slice(separator + 1);
    const problem =
      separator < 1 || !KEY_ID.test(id)
        ? `entry ${index + 1} is not <key id>:<base64 of 32 bytes> (key ids: letters, digits, . _ -)`
        : keys.some((key) => key.id === id)
          ? `key id "${id}" appears twice`
          : !isBase64Of32Bytes(material)
            ? `key "${id}" is not the base64 of 32 bytes (make one with: openssl rand -base64 32)`
            : undefined;
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    keys.push({ id, bytes: new Uint8Array(Buffer.from(material, 'base64')) });
  }
  return keys;
});

function isBase64Of32Bytes(text: string): boolean {
  // Buffer skips characters that are not base64; re-encoding catches them, and any length other than 32 bytes.
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === 32 && bytes.toString('base64') === text;
}

/** For start-up logs: the key ids in order (the first encrypts), or `off`; never key material. */
export function encryptionKeyIds(keys: readonly EncryptionKey[] | undefined): string[] | 'off' {
  return keys?.map((key) => key.id) ?? 'off';
}

/** Encrypting when `keys` are given; failures always carry their message in encoded attributes. */
export async function createDataConverter(keys: readonly EncryptionKey[] | undefined): Promise<DataConverter> {
  return { failureConverterPath, payloadCodecs: keys?.length ? [await EncryptionCodec.create(keys)] : [] };
}
