"""Signed checkpoints as C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint).

Using the standard text format means auditors can check our checkpoints with off-the-shelf
transparency-log tools, and keys can be handed around as one-line strings:

- verifier key: `<name>+<key id, 8 hex>+<base64(0x01 || 32-byte Ed25519 public key)>`;
- signing key file (mode 0600, never in MongoDB): the golang.org/x/mod/sumdb/note form
  `PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(0x01 || 32-byte Ed25519 seed)>` and a newline;
- key id = SHA-256(name || 0x0A || 0x01 || public key)[:4].

A trust file says which keys may sign checkpoints of which tree sizes, so a rotated-out key
cannot sign new history:

    {"keys": [{"vkey": "<verifier key>", "from_size": 0, "to_size": 1200},
              {"vkey": "<verifier key>", "from_size": 1200, "to_size": null}]}

A key is accepted for a checkpoint of size s when from_size <= s <= to_size (to_size null:
no upper bound). Both keys are accepted at the hand-over size, so the checkpoint that
announces a new key can carry both signatures. The file is read by the strict rule
(ledger.strict) and its format is closed: no other field at either level.
"""
import base64
import binascii
import json
import os
import re
import secrets
from dataclasses import dataclass
from hashlib import sha256

from Crypto.Signature import eddsa

try:  # OpenSSL's Ed25519: 4x faster to sign and verify (identical, deterministic signatures)
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ed25519 as openssl_ed25519
except ImportError:  # the receipt verifier's zip application needs only pycryptodome
    openssl_ed25519 = None

    class InvalidSignature(Exception):
        """Never raised: stands in for cryptography's when it is not installed."""

from ledger.strict import StrictError, check_fields, loads_strict

__all__ = ["NoteError", "SigningKey", "VerifierKey", "Checkpoint", "sign_note", "open_note",
           "read_note", "sign_checkpoint", "verify_checkpoint", "TrustFile", "TrustEntry"]

_ED25519 = b"\x01"
_SIG_PREFIX = "\u2014 "  # em dash, space
_MAX_SIGNATURES = 100
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")
_HEX_ID = re.compile("[0-9a-f]{8}")
_DECIMAL = re.compile("0|[1-9][0-9]*")


class NoteError(ValueError):
    """A note, checkpoint, key or trust file that does not parse or verify."""


def _b64decode(text: str) -> bytes:
    """Strict standard base64: canonical padding and bits, so one note has one spelling."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("bad base64") from None
    if _b64(raw) != text:
        raise NoteError("bad base64")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _valid_name(name) -> bool:
    """Non-empty, valid UTF-8, no Unicode spaces, no plus (c2sp.org/signed-note)."""
    return (isinstance(name, str) and name != "" and "+" not in name
            and not any(ch.isspace() for ch in name) and not _CONTROL.search(name)
            and _is_utf8(name))


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _key_id(name: str, public_key: bytes) -> bytes:
    return sha256(name.encode("utf-8") + b"\n" + _ED25519 + public_key).digest()[:4]


class VerifierKey:
    """An Ed25519 public key with its C2SP name and key id."""

    def __init__(self, name: str, public_key: bytes):
        if not _valid_name(name):
            raise NoteError(f"invalid key name {name!r}")
        try:  # pycryptodome decides what is a key (a point on the curve), whichever verifies
            self._key = eddsa.import_public_key(bytes(public_key))
        except (ValueError, TypeError):
            raise NoteError("not an Ed25519 public key") from None
        if openssl_ed25519:
            self._check = openssl_ed25519.Ed25519PublicKey.from_public_bytes(
                bytes(public_key)).verify
        else:
            self._check = lambda signature, message: eddsa.new(self._key, "rfc8032").verify(
                message, signature)
        self.name = name
        self.public_key = bytes(public_key)
        self.key_id = _key_id(name, self.public_key)

    @classmethod
    def parse(cls, vkey: str) -> "VerifierKey":
        """Parse `<name>+<hex id>+<base64(0x01 || key)>`, checking the id against the key."""
        name, _, rest = vkey.strip().partition("+") if isinstance(vkey, str) else ("", "", "")
        hex_id, _, key64 = rest.partition("+")
        if not _HEX_ID.fullmatch(hex_id):
            raise NoteError("malformed verifier key")
        raw = _b64decode(key64)
        if raw[:1] != _ED25519 or len(raw) != 33:
            raise NoteError("verifier key is not an Ed25519 key")
        key = cls(name, raw[1:])
        if key.key_id.hex() != hex_id:
            raise NoteError("verifier key id does not match the key")
        return key

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{_b64(_ED25519 + self.public_key)}"

    def __repr__(self) -> str:
        return f"VerifierKey({str(self)!r})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, VerifierKey) and other.name == self.name
                and other.public_key == self.public_key)

    def __hash__(self) -> int:
        return hash((self.name, self.public_key))

    @property
    def fingerprint(self) -> str:
        """Hex SHA-256 of the raw public key, for people to compare."""
        return sha256(self.public_key).hexdigest()

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self._check(bytes(signature), bytes(message))
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    @classmethod
    def load(cls, path) -> "VerifierKey":
        with open(path, encoding="utf-8") as f:
            return cls.parse(f.read())

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"{self}\n")


class SigningKey:
    """An Ed25519 private key with its C2SP name; repr never shows the secret."""

    def __init__(self, name: str, seed: bytes):
        if not _valid_name(name):
            raise NoteError(f"invalid key name {name!r}")
        if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
            raise NoteError("an Ed25519 seed is 32 bytes")
        self._seed = bytes(seed)
        if openssl_ed25519:
            key = openssl_ed25519.Ed25519PrivateKey.from_private_bytes(self._seed)
            public, self._sign = key.public_key().public_bytes_raw(), key.sign
        else:
            key = eddsa.import_private_key(self._seed)
            public = key.public_key().export_key(format="raw")
            self._sign = eddsa.new(key, "rfc8032").sign
        self._public = VerifierKey(name, public)

    @classmethod
    def from_seed(cls, name: str, seed32: bytes) -> "SigningKey":
        return cls(name, seed32)

    @classmethod
    def generate(cls, name: str) -> "SigningKey":
        return cls(name, secrets.token_bytes(32))

    @classmethod
    def parse(cls, skey: str) -> "SigningKey":
        """Parse `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`."""
        parts = skey.strip().split("+", 4) if isinstance(skey, str) else []
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not _HEX_ID.fullmatch(parts[3]):
            raise NoteError("malformed signing key")
        raw = _b64decode(parts[4])
        if raw[:1] != _ED25519 or len(raw) != 33:
            raise NoteError("signing key is not an Ed25519 key")
        key = cls(parts[2], raw[1:])
        if key.key_id.hex() != parts[3]:
            raise NoteError("signing key id does not match the key")
        return key

    @classmethod
    def load(cls, path) -> "SigningKey":
        with open(path, encoding="utf-8") as f:
            return cls.parse(f.read())

    def save(self, path, overwrite: bool = False) -> None:
        """Write the key file with mode 0600; refuse to replace a file unless `overwrite`."""
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(fd, 0o600)
            f.write(f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+"
                    f"{_b64(_ED25519 + self._seed)}\n")

    @property
    def name(self) -> str:
        return self._public.name

    @property
    def key_id(self) -> bytes:
        return self._public.key_id

    def public(self) -> VerifierKey:
        return self._public

    def sign(self, message: bytes) -> bytes:
        """The 64-byte RFC 8032 Ed25519 signature of `message`."""
        return self._sign(bytes(message))

    def __repr__(self) -> str:
        return f"SigningKey(name={self.name!r}, key_id={self.key_id.hex()!r})"


def sign_note(body: str, keys: list[SigningKey]) -> str:
    """The signed note: body, a blank line, then one signature line per key."""
    _check_text(body)
    if not body.endswith("\n"):
        raise NoteError("malformed note: the text must end with a newline")
    if not keys:
        raise NoteError("a note needs at least one signing key")
    message = body.encode("utf-8")
    lines = [f"{_SIG_PREFIX}{key.name} {_b64(key.key_id + key.sign(message))}\n" for key in keys]
    return body + "\n" + "".join(lines)


def _check_text(text) -> None:
    if not isinstance(text, str) or _CONTROL.search(text) or not _is_utf8(text):
        raise NoteError("malformed note")


def _split_note(text: str) -> tuple[str, list[str]]:
    """(body, signature lines) split at the last blank line."""
    _check_text(text)
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n") or split + 2 == len(text):
        raise NoteError("malformed note")
    lines = text[split + 2:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError("malformed note")
    return text[:split + 1], lines


def _parse_signature(line: str) -> tuple[str, bytes, bytes]:
    """(key name, key id, signature) from one `— <name> <base64>` line."""
    if not line.startswith(_SIG_PREFIX):
        raise NoteError("malformed note")
    name, _, sig64 = line[len(_SIG_PREFIX):].partition(" ")
    try:
        raw = _b64decode(sig64)
    except NoteError:
        raise NoteError("malformed note") from None
    if not _valid_name(name) or len(raw) < 5:
        raise NoteError("malformed note")
    return name, raw[:4], raw[4:]


def read_note(text: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """The note's body and its signatures (key name, key id, signature), none verified.

    Tells text that is not a signed note at all (NoteError) from a note whose signatures may
    still fail: a form can then refuse junk as input instead of reporting a bad signature.
    """
    body, lines = _split_note(text)
    return body, [_parse_signature(line) for line in lines]


def _index_verifiers(verifiers: list[VerifierKey]) -> dict:
    known = {}
    for key in verifiers:
        if known.setdefault((key.name, key.key_id), key) != key:
            raise NoteError(f"ambiguous key {key.name}+{key.key_id.hex()}")
    return known


def open_note(text: str, verifiers: list[VerifierKey]) -> tuple[str, list[VerifierKey]]:
    """The note's body and the known keys whose signatures verified.

    Signatures by unknown keys are ignored, as the spec requires; a known key with a bad
    signature rejects the whole note.
    """
    body, signatures = read_note(text)
    known = _index_verifiers(verifiers)
    message = body.encode("utf-8")
    verified = []
    for name, key_id, signature in signatures:
        key = known.get((name, key_id))
        if key is None or key in verified:
            continue
        if not key.verify(message, signature):
            raise NoteError(f"bad signature by key {name}")
        verified.append(key)
    if not verified:
        raise NoteError("no signature by a known key")
    return body, verified


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: c2sp.org/tlog-checkpoint, with the time as an extension line."""

    origin: str
    size: int
    root: bytes
    timestamp_ms: int | None = None

    def __post_init__(self):
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin:
            raise NoteError("a checkpoint origin is one non-empty line")
        if not _is_count(self.size):
            raise NoteError("a checkpoint size is a non-negative integer")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise NoteError("a checkpoint root is 32 bytes")
        if self.timestamp_ms is not None and not _is_count(self.timestamp_ms):
            raise NoteError("a checkpoint timestamp is a non-negative integer of milliseconds")

    def body(self) -> str:
        """`<origin>\\n<size>\\n<base64 root>\\n`, then `timestamp <ms>\\n` when set."""
        text = f"{self.origin}\n{self.size}\n{_b64(self.root)}\n"
        if self.timestamp_ms is not None:
            text += f"timestamp {self.timestamp_ms}\n"
        return text

    @classmethod
    def parse_body(cls, text: str) -> "Checkpoint":
        """Parse a checkpoint body; unknown extension lines are ignored as the spec allows."""
        lines = text.split("\n") if isinstance(text, str) else []
        if len(lines) < 4 or lines.pop() != "" or not all(lines):
            raise NoteError("malformed checkpoint")
        if not _DECIMAL.fullmatch(lines[1]):
            raise NoteError("malformed checkpoint")
        try:
            root = _b64decode(lines[2])
        except NoteError:
            raise NoteError("malformed checkpoint") from None
        stamps = [line[len("timestamp "):] for line in lines[3:] if line.startswith("timestamp ")]
        if len(stamps) > 1 or (stamps and not _DECIMAL.fullmatch(stamps[0])):
            raise NoteError("malformed checkpoint")
        return cls(lines[0], int(lines[1]), root, int(stamps[0]) if stamps else None)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def sign_checkpoint(cp: Checkpoint, key: SigningKey) -> str:
    return sign_note(cp.body(), [key])


def verify_checkpoint(text: str, verifiers: list[VerifierKey]) -> tuple[Checkpoint, VerifierKey]:
    """The checkpoint and the (first) trusted key that signed it; NoteError otherwise."""
    body, verified = open_note(text, verifiers)
    return Checkpoint.parse_body(body), verified[0]


@dataclass(frozen=True)
class TrustEntry:
    vkey: VerifierKey
    from_size: int
    to_size: int | None = None

    def covers(self, size: int) -> bool:
        return self.from_size <= size and (self.to_size is None or size <= self.to_size)


class TrustFile:
    """Which keys may sign checkpoints of which sizes (format in the module docstring)."""

    def __init__(self, entries: list[TrustEntry] = ()):
        self.entries = list(entries)

    def verifiers_for(self, size: int) -> list[VerifierKey]:
        return [entry.vkey for entry in self.entries if entry.covers(size)]

    def add(self, vkey: VerifierKey, from_size: int) -> None:
        """Trust `vkey` from `from_size` on, closing every open range at `from_size`."""
        if not _is_count(from_size):
            raise NoteError("from_size must be a non-negative integer")
        for i, entry in enumerate(self.entries):
            if entry.to_size is None:
                if from_size < entry.from_size:
                    raise NoteError(f"from_size {from_size} is before the current key's range")
                self.entries[i] = TrustEntry(entry.vkey, entry.from_size, from_size)
        self.entries.append(TrustEntry(vkey, from_size))

    @classmethod
    def load(cls, path) -> "TrustFile":
        with open(path, "rb") as f:
            raw = f.read()
        try:
            data = loads_strict(raw, fields=_TRUST_FIELDS)
            entries = data.get("keys") if isinstance(data, dict) else None
            for i, item in enumerate(entries if isinstance(entries, list) else ()):
                check_fields(item, _ENTRY_FIELDS, f"keys[{i}]")
        except StrictError as e:
            raise NoteError(f"trust file: {e}") from None
        if not isinstance(entries, list):
            raise NoteError('trust file needs a "keys" list')
        return cls([_parse_entry(item) for item in entries])

    def save(self, path) -> None:
        data = {"keys": [{"vkey": str(e.vkey), "from_size": e.from_size, "to_size": e.to_size}
                         for e in self.entries]}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")


_TRUST_FIELDS = {"keys"}
_ENTRY_FIELDS = {"vkey", "from_size", "to_size"}


def _parse_entry(item) -> TrustEntry:
    if not isinstance(item, dict):
        raise NoteError("trust file entries are objects")
    from_size, to_size = item.get("from_size"), item.get("to_size")
    if not _is_count(from_size) or not (to_size is None or (_is_count(to_size)
                                                            and to_size >= from_size)):
        raise NoteError(f"trust file entry has a bad size range: {from_size!r}..{to_size!r}")
    return TrustEntry(VerifierKey.parse(item.get("vkey")), from_size, to_size)
