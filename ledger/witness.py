"""Witnesses: parties outside the log's host that cosign its checkpoints (C2SP tlog-witness,
tlog-cosignature with Ed25519 `cosignature/v1`).

A witness keeps, per log origin, the latest checkpoint it cosigned. It cosigns a new one only
if it is signed by the log's key and a consistency proof shows it extends that one, so a log
that rewrites its history — even one whose signing key was stolen — cannot get a cosignature
for the rewritten history from a witness that saw the original. Clients (a receipt's
verifier) can then require N cosignatures from witnesses they trust.

`python -m ledger witness` runs one: its own key, its own state file, no database, no app.
"""
import base64
import json
import os
import re
import threading
import time
from hashlib import sha256
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ledger.merkle import verify_consistency
from ledger.notes import (Checkpoint, NoteError, SigningKey, VerifierKey, _b64decode,
                          _parse_signature, _split_note, open_note)
from ledger.strict import loads_strict

COSIGNATURE_ALGORITHM = b"\x04"
MAX_PROOF_LINES = 63
MAX_BODY = 64 * 1024
_DECIMAL = re.compile("0|[1-9][0-9]*")
SIZE_CONTENT_TYPE = "text/x.tlog.size"


class WitnessError(ValueError):
    pass


# Cosignatures ---------------------------------------------------------------------------------

def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(<name> || "\\n" || 0x04 || Ed25519 public key)[:4] (tlog-cosignature)."""
    return sha256(name.encode("utf-8") + b"\n" + COSIGNATURE_ALGORITHM + public_key).digest()[:4]


def cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode("utf-8") + body.encode("utf-8")


class CosignerKey:
    """A witness's public key: name, key (vkey encoding with signature type 0x04)."""

    def __init__(self, name: str, public_key: bytes):
        self.verifier = VerifierKey(name, public_key)  # checks the name and the key
        self.name, self.public_key = name, bytes(public_key)
        self.key_id = cosigner_key_id(name, self.public_key)

    @classmethod
    def parse(cls, vkey: str) -> "CosignerKey":
        name, _, rest = (vkey or "").strip().partition("+")
        hex_id, _, key64 = rest.partition("+")
        raw = _b64decode(key64)
        if raw[:1] != COSIGNATURE_ALGORITHM or len(raw) != 33:
            raise WitnessError("not an Ed25519 cosigner key (type 0x04)")
        key = cls(name, raw[1:])
        if key.key_id.hex() != hex_id:
            raise WitnessError("cosigner key id does not match the key")
        return key

    def __str__(self) -> str:
        encoded = base64.b64encode(COSIGNATURE_ALGORITHM + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def __eq__(self, other) -> bool:
        return isinstance(other, CosignerKey) and str(other) == str(self)

    def __hash__(self) -> int:
        return hash(str(self))

    def verify(self, body: str, line: str):
        """The cosignature's timestamp if `line` is this witness's cosignature on `body`."""
        try:
            name, key_id, raw = _parse_signature(line)
        except NoteError:
            return None
        if name != self.name or key_id != self.key_id or len(raw) != 72:
            return None
        timestamp = int.from_bytes(raw[:8], "big")
        if timestamp >= 2 ** 63:
            return None
        return timestamp if self.verifier.verify(cosigned_message(body, timestamp), raw[8:]) \
            else None


class Cosigner:
    """A witness's private key, signing `cosignature/v1` lines."""

    def __init__(self, key: SigningKey):
        self.key = key
        self.public = CosignerKey(key.name, key.public().public_key)

    def cosign(self, body: str, timestamp: int | None = None) -> str:
        timestamp = int(time.time()) if timestamp is None else int(timestamp)
        signature = self.key.sign(cosigned_message(body, timestamp))
        raw = self.public.key_id + timestamp.to_bytes(8, "big") + signature
        return f"\u2014 {self.key.name} {base64.b64encode(raw).decode('ascii')}\n"


def count_cosignatures(note: str, witnesses: list[CosignerKey]) -> list[CosignerKey]:
    """The trusted witnesses whose cosignature the note carries (one each at most)."""
    body, lines = _split_note(note)
    return [key for key in witnesses
            if any(key.verify(body, line) is not None for line in lines)]


# The witness ----------------------------------------------------------------------------------

class Witness:
    """Cosign checkpoints of the logs in `logs` ({origin: [VerifierKey]}) that extend the last
    one cosigned; the state ({origin: {size, root}}) is a JSON file, replaced atomically."""

    def __init__(self, key: SigningKey, state_path, logs):
        self.cosigner = Cosigner(key)
        self.state_path = str(state_path)
        self.logs = {origin: list(keys) for origin, keys in logs.items()}
        self._lock = threading.Lock()

    def _load(self) -> dict:
        if not os.path.exists(self.state_path):
            return {}
        with open(self.state_path, "rb") as handle:
            return loads_strict(handle.read())

    def _save(self, state: dict) -> None:
        temporary = self.state_path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(state, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.state_path)

    def add_checkpoint(self, body: bytes) -> tuple[int, str, str]:
        """(HTTP status, content type, response body) for one add-checkpoint request."""
        try:
            old, proof, note = _parse_request(body)
        except WitnessError as exc:
            return 400, "text/plain", f"{exc}\n"
        try:
            checkpoint = Checkpoint.parse_body(_split_note(note)[0])
        except NoteError as exc:
            return 400, "text/plain", f"{exc}\n"
        keys = self.logs.get(checkpoint.origin)
        if keys is None:
            return 404, "text/plain", "unknown log origin\n"
        try:
            open_note(note, keys)
        except NoteError:
            return 403, "text/plain", "no signature by the log's key\n"
        if old > checkpoint.size:
            return 400, "text/plain", "old size is larger than the checkpoint's\n"
        with self._lock:  # the check and the update are one step (the spec's race)
            state = self._load()
            latest = state.get(checkpoint.origin, {"size": 0, "root": None})
            if old != latest["size"]:
                return 409, SIZE_CONTENT_TYPE, f"{latest['size']}\n"
            if old == checkpoint.size:
                if latest["root"] is not None and latest["root"] != checkpoint.root.hex():
                    return 409, SIZE_CONTENT_TYPE, f"{latest['size']}\n"
            elif old > 0 and not verify_consistency(old, checkpoint.size,
                                                    bytes.fromhex(latest["root"]),
                                                    checkpoint.root, proof):
                return 422, "text/plain", "the consistency proof does not verify\n"
            elif old == 0 and proof:
                return 422, "text/plain", "the proof must be empty from size 0\n"
            state[checkpoint.origin] = {"size": checkpoint.size, "root": checkpoint.root.hex()}
            self._save(state)
        return 200, "text/plain; charset=utf-8", \
            self.cosigner.cosign(_split_note(note)[0])


def _parse_request(body: bytes):
    if len(body) > MAX_BODY:
        raise WitnessError("request too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessError("request is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise WitnessError("no empty line before the checkpoint")
    lines = head.split("\n")
    first = lines[0]
    if not first.startswith("old ") or not _DECIMAL.fullmatch(first[4:]):
        raise WitnessError("malformed old size line")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessError("too many consistency proof lines")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except ValueError:
        raise WitnessError("malformed consistency proof line") from None
    if any(len(step) != 32 for step in proof):
        raise WitnessError("a consistency proof line is not a 32-byte hash")
    return int(first[4:]), proof, note


def request_body(old_size: int, proof: list[bytes], note: str) -> bytes:
    """An add-checkpoint request (the client side)."""
    lines = [f"old {old_size}"] + [base64.b64encode(step).decode("ascii") for step in proof]
    return ("\n".join(lines) + "\n\n" + note).encode("utf-8")


def make_server(witness: Witness, host: str = "127.0.0.1", port: int = 8099):
    """An HTTP server for POST /add-checkpoint (port 0: any free port, see server_address)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if self.path.rstrip("/") != "/add-checkpoint" or not 0 < length <= MAX_BODY:
                self.send_error(404 if length else 400)
                return
            status, content_type, text = witness.add_checkpoint(self.rfile.read(length))
            body = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            pass

    return ThreadingHTTPServer((host, port), Handler)


def serve(witness: Witness, host: str = "127.0.0.1", port: int = 8099):
    """Serve POST /add-checkpoint until interrupted."""
    server = make_server(witness, host, port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
