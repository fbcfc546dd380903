"""The worker's payload encryption, for Python callers: AES-256-GCM in the format of Temporal's encryption samples.

PAYLOAD_ENCRYPTION_KEYS holds `id:<base64 of 32 bytes>,...` as for the worker: the first key encrypts, all decrypt.
Each payload is serialized whole and sealed as 12 bytes of nonce then ciphertext and tag; the metadata says
`encoding: binary/encrypted` and `encryption-key-id: <id>`. This is the same format as src/codec/encryption-codec.ts.
"""

import base64
import binascii
import dataclasses
import os
from typing import Iterable, List, Optional

import temporalio.converter
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


class UnknownEncryptionKeyError(Exception):
    """A payload sealed with a key this process was not given."""


class PayloadDecryptionError(Exception):
    """An encrypted payload that does not decrypt: damaged, or sealed with other bytes under the same key id."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: List[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("EncryptionCodec needs at least one key")
        self._encrypting_id = keys[0][0]
        self._keys = {key_id: AESGCM(key) for key_id, key in keys}

    async def encode(self, payloads: Iterable[Payload]) -> List[Payload]:
        aead = self._keys[self._encrypting_id]
        encoded = []
        for payload in payloads:
            nonce = os.urandom(12)  # fresh for every payload
            encoded.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: self._encrypting_id.encode()},
                    data=nonce + aead.encrypt(nonce, payload.SerializeToString(), None),
                )
            )
        return encoded

    async def decode(self, payloads: Iterable[Payload]) -> List[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)  # written before encryption was turned on
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            aead = self._keys.get(key_id)
            if aead is None:
                raise UnknownEncryptionKeyError(
                    f'payload encrypted with key "{key_id}", which PAYLOAD_ENCRYPTION_KEYS does not hold'
                )
            try:
                plain = aead.decrypt(payload.data[:12], payload.data[12:], None)
            except InvalidTag:
                raise PayloadDecryptionError(f'payload encrypted with key "{key_id}" does not decrypt') from None
            decoded.append(Payload.FromString(plain))
        return decoded


def data_converter_from_env() -> DataConverter:
    """The default converter, encrypting when PAYLOAD_ENCRYPTION_KEYS is set; failure messages in encoded attributes."""
    converter = dataclasses.replace(
        temporalio.converter.default(), failure_converter_class=DefaultFailureConverterWithEncodedAttributes
    )
    value: Optional[str] = os.environ.get("PAYLOAD_ENCRYPTION_KEYS")
    if not value:
        return converter
    keys: List[tuple[str, bytes]] = []
    for entry in value.split(","):
        key_id, _, material = entry.strip().partition(":")
        try:
            key = base64.b64decode(material, validate=True)
        except binascii.Error:
            key = b""
        if not key_id or len(key) != 32 or key_id in dict(keys):
            raise SystemExit("PAYLOAD_ENCRYPTION_KEYS: each entry must be <key id>:<base64 of 32 bytes>, ids unique")
        keys.append((key_id, key))
    return dataclasses.replace(converter, payload_codec=EncryptionCodec(keys))
