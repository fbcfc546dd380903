// AES-256-GCM payload encryption in the format of Temporal's encryption samples (TypeScript, Python, Go): the whole
// serialized Payload is encrypted, the result is 12 bytes of IV then ciphertext and tag, and the metadata says
// `encoding: binary/encrypted` and which key encrypted it. Any SDK with the same keys reads what this one writes.
import { webcrypto } from 'node:crypto';

import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

const { Payload: PayloadProto } = proto.temporal.api.common.v1;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export interface EncryptionKey {
  id: string;
  /** 32 bytes: AES-256. */
  bytes: Uint8Array;
}

/** A payload encrypted with a key this process was not given: add the key to PAYLOAD_ENCRYPTION_KEYS. */
export class UnknownEncryptionKeyError extends Error {
  override name = 'UnknownEncryptionKeyError';
}

/** An encrypted payload that does not decrypt: damaged, cut short, or encrypted with other bytes under the same id. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

/**
 * Encrypts with the first key, decrypts with any of them, so a new key can be put first while runs written under the
 * old one still complete. Payloads without the encrypted encoding pass through decode untouched: histories written
 * before encryption was turned on stay readable. Nothing passes through encode unencrypted.
 */
export class EncryptionCodec implements PayloadCodec {
  private constructor(
    private readonly keys: ReadonlyMap<string, webcrypto.CryptoKey>,
    private readonly encryptingKeyId: string,
  ) {}

  static async create(keys: readonly EncryptionKey[]): Promise<EncryptionCodec> {
    const [first] = keys;
    if (!first) throw new TypeError('EncryptionCodec needs at least one key');
    const imported = new Map<string, webcrypto.CryptoKey>();
    for (const { id, bytes } of keys) {
      if (bytes.length !== 32) throw new TypeError(`encryption key ${id} must be 32 bytes, not ${bytes.length}`);
      imported.set(id, await webcrypto.subtle.importKey('raw', bytes, 'AES-GCM', false, ['encrypt', 'decrypt']));
    }
    return new EncryptionCodec(imported, first.id);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.get(this.encryptingKeyId) as webcrypto.CryptoKey;
    return Promise.all(
      payloads.map(async (payload) => {
        // A fresh random IV for every payload: GCM is broken by a repeated IV under one key.
        const iv = webcrypto.getRandomValues(new Uint8Array(IV_BYTES));
        const plain = PayloadProto.encode(payload).finish();
        const sealed = new Uint8Array(await webcrypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, plain));
        const data = new Uint8Array(IV_BYTES + sealed.length);
        data.set(iv);
        data.set(sealed, IV_BYTES);
        return {
          metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(this.encryptingKeyId) },
          data,
        };
      }),
    );
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        const encoding = payload.metadata?.encoding;
        if (!encoding || fromUtf8.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
        const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
        if (!keyIdBytes) throw new PayloadDecryptionError(`encrypted payload has no ${KEY_ID_METADATA} metadata`);
        const keyId = fromUtf8.decode(keyIdBytes);
        const key = this.keys.get(keyId);
        if (!key) {
          throw new UnknownEncryptionKeyError(
            `payload encrypted with key "${keyId}", which PAYLOAD_ENCRYPTION_KEYS does not hold (it holds ${[...this.keys.keys()].join(', ')})`,
          );
        }
        const data = payload.data ?? new Uint8Array();
        let plain: ArrayBuffer;
        try {
          plain = await webcrypto.subtle.decrypt(
            { name: 'AES-GCM', iv: data.subarray(0, IV_BYTES) },
            key,
            data.subarray(IV_BYTES),
          );
        } catch {
          throw new PayloadDecryptionError(
            `payload encrypted with key "${keyId}" does not decrypt: damaged or another key`,
          );
        }
        return PayloadProto.decode(new Uint8Array(plain));
      }),
    );
  }
}
