"""Clinical values at rest: AES-256-GCM with the data key, bound to record id and version.

The associated data ties a ciphertext to its record id and version, so moving one record's
ciphertext onto another record (or another version) fails the tag check just like editing a
byte does. A failed tag is `TamperedCiphertext`: the audit reports it as tampering and a page
that meets it refuses to show anything.
"""
import functools
import json

from bson import Binary
from Crypto.Cipher import AES
from Crypto.Random import get_random_bytes
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from models.core.errors import DomainError

NONCE_BYTES = 12
TAG_BYTES = 16
SCHEME = "aes-256-gcm/v1"


class TamperedCiphertext(DomainError):
    """The stored ciphertext, nonce, tag or its binding (record id, version) was altered."""

    status = 500


def associated_data(record_id, version):
    return f"medledger-record\n{record_id}\n{int(version)}".encode("utf-8")


def encrypt(key, record_id, version, payload):
    """The payload (a JSON-able dict) as a storable sealed box."""
    cipher = AES.new(key, AES.MODE_GCM, nonce=get_random_bytes(NONCE_BYTES), mac_len=TAG_BYTES)
    cipher.update(associated_data(record_id, version))
    plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext.encode("utf-8"))
    return {"scheme": SCHEME, "nonce": Binary(cipher.nonce), "ciphertext": Binary(ciphertext),
            "tag": Binary(tag)}


@functools.lru_cache(maxsize=8)
def _aead(key):
    """One OpenSSL AES-GCM object per key (a handful of keys per process), not one per record:
    the full audit decrypts every sealed record version."""
    return AESGCM(key)


def decrypt(key, record_id, version, box):
    """The payload back, or TamperedCiphertext if anything about the box or its binding changed."""
    try:
        if box.get("scheme") != SCHEME:
            raise ValueError("unknown scheme")
        tag = bytes(box["tag"])
        if len(tag) != TAG_BYTES:  # ciphertext || tag is one buffer below: keep the split
            raise ValueError("bad tag length")
        # OpenSSL's AES-GCM (`cryptography`): ~10x cheaper per record than a pycryptodome
        # cipher, which the full audit pays once per sealed record version.
        plaintext = _aead(key).decrypt(bytes(box["nonce"]), bytes(box["ciphertext"]) + tag,
                                       associated_data(record_id, version))
        return json.loads(plaintext.decode("utf-8"))
    except (InvalidTag, ValueError, KeyError, TypeError, AttributeError):
        raise TamperedCiphertext(
            f"Record {record_id} version {version} failed its integrity check "
            "(its encrypted data was altered). It cannot be shown.") from None


def attachment_associated_data(patient_id, sha256):
    return f"medledger-attachment\n{patient_id}\n{sha256}".encode("utf-8")


def encrypt_file(key, patient_id, sha256, data):
    """nonce || tag || ciphertext of a file, bound to its patient and its content hash."""
    cipher = AES.new(key, AES.MODE_GCM, nonce=get_random_bytes(NONCE_BYTES), mac_len=TAG_BYTES)
    cipher.update(attachment_associated_data(patient_id, sha256))
    ciphertext, tag = cipher.encrypt_and_digest(data)
    return cipher.nonce + tag + ciphertext


def decrypt_file(key, patient_id, sha256, blob):
    try:
        nonce, tag, ciphertext = blob[:NONCE_BYTES], blob[NONCE_BYTES:NONCE_BYTES + TAG_BYTES], \
            blob[NONCE_BYTES + TAG_BYTES:]
        cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
        cipher.update(attachment_associated_data(patient_id, sha256))
        return cipher.decrypt_and_verify(ciphertext, tag)
    except (ValueError, TypeError):
        raise TamperedCiphertext("This attachment failed its integrity check (its stored "
                                 "content was altered). It cannot be downloaded.") from None


def secret_associated_data(binding):
    return f"medledger-secret\n{binding}".encode("utf-8")


def encrypt_secret(key, binding, secret):
    """A small secret (a TOTP seed) as hex strings, bound to what it belongs to: hex so that
    an authority MAC (JSON) can cover it, bound so that it cannot be moved to another account."""
    cipher = AES.new(key, AES.MODE_GCM, nonce=get_random_bytes(NONCE_BYTES), mac_len=TAG_BYTES)
    cipher.update(secret_associated_data(binding))
    ciphertext, tag = cipher.encrypt_and_digest(secret.encode("utf-8"))
    return {"scheme": SCHEME, "nonce": cipher.nonce.hex(), "ciphertext": ciphertext.hex(),
            "tag": tag.hex()}


def decrypt_secret(key, binding, box):
    try:
        if box.get("scheme") != SCHEME:
            raise ValueError("unknown scheme")
        cipher = AES.new(key, AES.MODE_GCM, nonce=bytes.fromhex(box["nonce"]), mac_len=TAG_BYTES)
        cipher.update(secret_associated_data(binding))
        return cipher.decrypt_and_verify(bytes.fromhex(box["ciphertext"]),
                                         bytes.fromhex(box["tag"])).decode("utf-8")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise TamperedCiphertext("A stored secret failed its integrity check (it was altered). "
                                 "It cannot be used.") from None
