"""Key derivation, the signed message and digests: every label the format uses, in one place.

Each derived value has its own HKDF ``info`` or hash prefix, so no value
can be mistaken for another (domain separation).  All labels are ASCII and
end with a NUL where raw bytes follow.
"""

from __future__ import annotations

import hmac
import struct

from shangmi import sm3

FILE_KEY_SIZE = 16       # SM4 strength: 128 bits
SALT_SIZE = 32
PACKAGE_ID_SIZE = 16
COMMITMENT_SIZE = 32
PAYLOAD_KEY_SIZE = 16

LABEL_PAYLOAD = b"smseal/v1 payload key"
LABEL_COMMITMENT = b"smseal/v1 file key commitment"
LABEL_SIGNATURE = b"smseal/v1 sender signature\x00"
LABEL_PACKAGE_DIGEST = b"smseal/v1 package digest\x00"
LABEL_RECEIPT = b"smseal/v1 receipt\x00"


def payload_key(file_key: bytes, salt: bytes) -> bytes:
    """The SM4-GCM key of the payload: HKDF-SM3(file key, salt, "smseal/v1 payload key")."""
    return sm3.hkdf(file_key, salt=salt, info=LABEL_PAYLOAD, length=PAYLOAD_KEY_SIZE)


def commitment(file_key: bytes, salt: bytes) -> bytes:
    """A commitment to the file key, stored in the signed header.

    GCM is not key-committing: without this a sender could wrap different
    file keys for different recipients over one ciphertext that decrypts
    to different documents under each.  Every recipient checks the same
    signed commitment, so all of them read the same file key.
    """
    return sm3.hkdf(file_key, salt=salt, info=LABEL_COMMITMENT, length=COMMITMENT_SIZE)


def commitment_matches(file_key: bytes, salt: bytes, expected: bytes) -> bool:
    return hmac.compare_digest(commitment(file_key, salt), expected)


def signed_message(prelude: bytes, payload_digest: bytes) -> bytes:
    """What the sender signs: label ‖ u32 len(prelude) ‖ prelude ‖ SM3(payload).

    The prelude is the exact header bytes (magic, length, msgpack header),
    which name every recipient, the package id and the time; the payload
    digest covers every ciphertext byte, so a recipient who knows the file
    key still cannot change a chunk without breaking the signature.
    """
    return LABEL_SIGNATURE + struct.pack(">I", len(prelude)) + prelude + payload_digest


def package_digest(prelude: bytes, payload_digest: bytes, signature: bytes) -> bytes:
    """SM3 naming one sealed package exactly (the binary form, whatever its armor).

    Receipts and ledgers record it.  It covers the prelude, the payload
    (through its SM3) and the signature, so two packages with the same id
    but different bytes have different digests.
    """
    h = sm3.SM3(LABEL_PACKAGE_DIGEST)
    h.update(struct.pack(">I", len(prelude)))
    h.update(prelude)
    h.update(payload_digest)
    h.update(signature)
    return h.digest()


def chunk_nonce(counter: int, last: bool) -> bytes:
    """12-byte GCM nonce: 11-byte big-endian chunk counter ‖ 0x01 on the last chunk else 0x00.

    Safe as a counter nonce because every package has a fresh random file
    key and salt, so (key, nonce) pairs never repeat across packages, and
    the counter never repeats within one.  The flag byte makes truncation
    at a chunk boundary detectable.
    """
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
