"""Block headers: what one event commits to, and the hash that links it into the chain.

The header holds no clinical value, only the event's shape (kind, subject, actor) and the root
of its salted attribute tree. The block hash is the RFC 6962 leaf hash of the canonical header,
so the chain of block hashes is also the leaf sequence of the log tree that checkpoints sign.
"""
import re
from datetime import datetime
from json.encoder import encode_basestring

from ledger.encoding import MAX_SAFE_INT, CanonicalError, canonical, rfc3339
from ledger.merkle import leaf_hash

__all__ = ["FORMAT_VERSION", "HEADER_FIELDS", "ZERO_HASH", "KIND_PATTERN", "ROTATION_KIND",
           "BlockError",
           "make_header", "header_of", "header_bytes", "fast_header_bytes", "block_hash",
           "make_block"]

FORMAT_VERSION = 1
HEADER_FIELDS = ("v", "height", "prev_hash", "timestamp", "kind", "subject", "actor",
                 "attr_root", "attr_count")
ZERO_HASH = "0" * 64
"""prev_hash of block 0: the hex of 32 zero bytes."""
KIND_PATTERN = re.compile(r"^[a-z]+(\.[a-z_]+)+$")
ROTATION_KIND = "checkpoint"
"""The one kind without a dot: the spec names it so; it marks a key rotation."""

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FIELD_SET = frozenset(HEADER_FIELDS)
_enc = encode_basestring  # JSON string literal, non-ASCII left as is (like canonical())


class BlockError(ValueError):
    """A header that the ledger refuses to write (bad kind, subject, hash or count)."""


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_subject(subject) -> dict:
    if not isinstance(subject, dict):
        raise BlockError("subject must be a dict")
    for key, value in subject.items():
        if not isinstance(key, str) or not key:
            raise BlockError(f"subject keys must be non-empty strings, not {key!r}")
        if not (isinstance(value, str) or _is_int(value)):
            raise BlockError(f"subject.{key} must be a str or an int (the subject is flat)")
    return dict(subject)


def make_header(*, height: int, prev_hash: str, kind: str, subject: dict, actor: str,
                attr_root: str, attr_count: int, timestamp: datetime | str) -> dict:
    """A validated header dict with exactly HEADER_FIELDS; BlockError if a field is invalid."""
    if not _is_int(height) or not 0 <= height <= MAX_SAFE_INT:
        raise BlockError(f"height must be a non-negative safe integer, not {height!r}")
    for name, value in (("prev_hash", prev_hash), ("attr_root", attr_root)):
        if not isinstance(value, str) or not _HEX64.match(value):
            raise BlockError(f"{name} must be 64 lowercase hex digits")
    if (height == 0) != (prev_hash == ZERO_HASH):
        raise BlockError("prev_hash is all zeros exactly at height 0")
    if not isinstance(kind, str) or not (KIND_PATTERN.match(kind) or kind == ROTATION_KIND):
        raise BlockError(f"kind {kind!r} does not match {KIND_PATTERN.pattern}")
    if not isinstance(actor, str) or not actor:
        raise BlockError("actor must be a non-empty pseudonymous id string")
    if not _is_int(attr_count) or attr_count < 0:
        raise BlockError("attr_count must be a non-negative int")
    if isinstance(timestamp, datetime):
        timestamp = rfc3339(timestamp)
    if not isinstance(timestamp, str):
        raise BlockError("timestamp must be a datetime or an RFC 3339 string")
    header = {"v": FORMAT_VERSION, "height": height, "prev_hash": prev_hash,
              "timestamp": timestamp, "kind": kind, "subject": _check_subject(subject),
              "actor": actor, "attr_root": attr_root, "attr_count": attr_count}
    try:
        header_bytes(header)
    except CanonicalError as e:
        raise BlockError(f"header is outside the canonical domain: {e}") from None
    return header


def header_of(doc: dict) -> dict:
    """Exactly the header fields of a stored block document (absent fields stay absent)."""
    return {name: doc[name] for name in HEADER_FIELDS if name in doc}


def fast_header_bytes(doc: dict) -> bytes | None:
    """canonical(header_of(doc)) for the common all-ASCII header, or None to fall back.

    The audit encodes every header, so this writes the fixed JCS field order directly
    instead of walking the value generically. It only accepts exact ints in range and
    text that is ASCII once encoded (where NFC is the identity and JCS key order is plain
    sorted order), so its bytes equal canonical()'s whenever it answers (tested on generated
    headers); anything else returns None.
    """
    try:
        v, height, count = doc["v"], doc["height"], doc["attr_count"]
        subject = doc["subject"]
        if not (type(v) is int and type(height) is int and type(count) is int
                and -MAX_SAFE_INT <= v <= MAX_SAFE_INT
                and -MAX_SAFE_INT <= height <= MAX_SAFE_INT
                and -MAX_SAFE_INT <= count <= MAX_SAFE_INT and type(subject) is dict):
            return None
        parts = []
        for key, value in sorted(subject.items()):  # keys are unique: values never compared
            if type(value) is str:
                parts.append(f"{_enc(key)}:{_enc(value)}")
            elif type(value) is int and -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
                parts.append(f"{_enc(key)}:{value}")
            else:
                return None
        return (f'{{"actor":{_enc(doc["actor"])},"attr_count":{count},'
                f'"attr_root":{_enc(doc["attr_root"])},"height":{height},'
                f'"kind":{_enc(doc["kind"])},"prev_hash":{_enc(doc["prev_hash"])},'
                f'"subject":{{{",".join(parts)}}},"timestamp":{_enc(doc["timestamp"])},'
                f'"v":{v}}}').encode("ascii")
    except (KeyError, TypeError, UnicodeEncodeError):  # a missing field, a non-str, non-ASCII
        return None


def header_bytes(header: dict) -> bytes:
    """canonical(header): the fast path when it applies, canonical() itself otherwise."""
    if type(header) is dict and header.keys() == _FIELD_SET:
        fast = fast_header_bytes(header)
        if fast is not None:
            return fast
    return canonical(header)


def block_hash(header: dict) -> bytes:
    """leaf_hash(canonical(header)): SHA-256(0x00 || header bytes); CanonicalError if invalid."""
    return leaf_hash(header_bytes(header))


def make_block(header: dict, attr_leaves: list[bytes]) -> dict:
    """The stored document: header + `_id` (= height) + hex `attr_leaves` + hex `hash`."""
    doc = dict(header)
    doc["_id"] = header["height"]
    doc["attr_leaves"] = [h.hex() for h in attr_leaves]
    doc["hash"] = block_hash(header).hex()
    return doc
