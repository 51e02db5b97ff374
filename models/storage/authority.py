"""Authority an insider cannot forge: documents that decide who may do what carry a MAC.

An insider with write access to MongoDB but not to the app host's key files could otherwise
give themselves a grant, widen one, replace a password hash or verify a doctor, and every
decision that reads the document would honour it until an audit noticed. So each protected
document (accounts, organizations, requests, grants, emergencies, record envelopes) carries
`auth = {kid, mac, fields}`: HMAC-SHA256, under the authority key (a file outside MongoDB),
of its collection, `_id` and deciding fields — one MAC over all of them, checked on every use
(one HMAC), and a short MAC per field, read only when the first fails, to name the field.

Writes go through `stamp` (a document about to be inserted) and `transition` (a
compare-and-set that also requires the MAC the writer read, so a concurrent change makes it
retry instead of sealing stale values). Reads that decide go through `verify`/`require`/
`authentic` and fail closed.
"""
import copy
import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from bson import ObjectId
from flask import current_app, has_app_context

from models.core.errors import DomainError

log = logging.getLogger(__name__)

FIELD = "auth"
KEY_BYTES = 32
FIELD_MAC_BYTES = 16
BLOCK_PREFIX = b"medledger-block\n"
PROTECTED = {}  # collection -> Protected, registered at start-up by the domains


class Unauthentic(DomainError):
    """A protected document failed its check: it was changed outside the app. Fail closed."""

    status = 403


@dataclass(frozen=True)
class Protected:
    """A collection whose documents decide who may do what, and the fields that decide."""
    collection: str
    fields: tuple
    name: Callable = None
    """fn(doc) -> how reports name the document (default: its _id)."""

    def label(self, doc):
        return self.name(doc) if self.name else str(doc.get("_id"))


def declare(*protected):
    for entry in protected:
        PROTECTED[entry.collection] = entry


# Keys ----------------------------------------------------------------------------------------

class Keyring:
    """The authority keys, oldest first: the last one signs, all of them verify (rotation)."""

    def __init__(self, keys):
        if not keys:
            raise ValueError("an authority keyring needs a key")
        self.keys = {key_id(key): key for key in keys}
        self.current = key_id(keys[-1])
        # HMAC states with the key and the block prefix absorbed: a copy per block is cheaper
        # than a new HMAC (the audit checks every block).
        self._block_states = {kid: hmac.new(key, BLOCK_PREFIX, hashlib.sha256)
                              for kid, key in self.keys.items()}

    def block_code(self, block_hash_hex, kid=None):
        state = self._block_states[kid or self.current].copy()
        state.update(str(block_hash_hex).encode())
        return state.hexdigest()

    def block_authentic(self, doc):
        kid, _, mac = str(doc.get("mac") or "").partition(":")
        if kid not in self._block_states:
            return False
        return hmac.compare_digest(mac, self.block_code(doc.get("hash"), kid))

    @classmethod
    def load(cls, path):
        with open(path) as handle:
            keys = [bytes.fromhex(line.split("#", 1)[0].strip()) for line in handle
                    if line.split("#", 1)[0].strip()]
        if any(len(key) != KEY_BYTES for key in keys):
            raise ValueError(f"{path} holds a key that is not {KEY_BYTES} bytes")
        return cls(keys)

    @staticmethod
    def create(path):
        """A new key file (mode 0600) with one key."""
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES).hex() + "\n")

    def fingerprints(self):
        return sorted(self.keys)


def key_id(key):
    return hashlib.sha256(b"medledger authority key\n" + key).hexdigest()[:16]


_installed = []  # the keyring of the app installed last, for code running outside a request


def install(ring):
    """Remember the keyring of the app being started (models called outside an app context,
    from a script or a test, use it)."""
    _installed[:] = [ring]


def keyring(app=None):
    if app is None and has_app_context():
        app = current_app
    if app is not None:
        return app.extensions["medledger"]["authority_keys"]
    if not _installed:
        raise RuntimeError("no authority keyring: start the app first")
    return _installed[0]


# MACs ----------------------------------------------------------------------------------------

_AS_IS = frozenset((str, int, bool, float, type(None)))


def _plain(value):
    """A value as it reads back from MongoDB, in a stable JSON form (datetimes to the ms)."""
    if type(value) in _AS_IS:  # most deciding fields: nothing to convert
        return value
    if isinstance(value, datetime):
        return {"$date": value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
                + ("Z" if value.utcoffset() is None or not value.utcoffset() else
                   value.strftime("%z"))}
    if isinstance(value, ObjectId):
        return {"$oid": str(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


_MISSING = {"$missing": True}


def _get(doc, path):
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return _MISSING
        doc = doc[part]
    return doc


def _tagged(value):
    """A value with no JSON form (Decimal128, Binary, Regex, bytes...). The app writes none
    into a deciding field, so it is an insider's edit: encoded by its type and text, it fails
    the MAC (403, and the audit names it) instead of raising TypeError (a 500, a failed audit)."""
    return {"$bson": type(value).__name__, "$repr": repr(value)}


_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                         default=_tagged)
"""What json.dumps builds per call with these options, built once: every protected read
(and the audit, for every protected document) encodes its deciding fields."""


def _message(collection, doc_id, name, value):
    body = _JSON.encode(_plain(value))
    return "\n".join(("medledger-authority", collection, str(doc_id), name, body)).encode()


def _mac(key, message, size=None):
    digest = hmac.digest(key, message, "sha256")  # one-shot, OpenSSL: checked on every use
    return (digest[:size] if size else digest).hex()


def _values(entry, doc):
    return {name: _get(doc, name) for name in entry.fields}


def seal_of(collection, doc, app=None):
    """The `auth` sub-document for the document as it is (its `_id` must be set)."""
    entry, ring = PROTECTED[collection], keyring(app)
    key = ring.keys[ring.current]
    values = _values(entry, doc)
    return {"kid": ring.current,
            "mac": _mac(key, _message(collection, doc["_id"], "*", values)),
            "fields": {name.replace(".", "/"): _mac(key, _message(collection, doc["_id"], name,
                                                                  value), FIELD_MAC_BYTES)
                       for name, value in values.items()}}


def stamp(collection, doc, app=None):
    """Give a document about to be inserted its `_id` (the MAC binds it) and its `auth`."""
    doc.setdefault("_id", ObjectId())
    doc[FIELD] = seal_of(collection, doc, app)
    return doc


def verify(collection, doc, app=None):
    """[] if the document is authentic, else the deciding fields that fail (or ["auth"])."""
    entry, ring = PROTECTED[collection], keyring(app)
    auth = doc.get(FIELD)
    kid = auth.get("kid") if isinstance(auth, dict) else None
    if not isinstance(kid, str) or kid not in ring.keys:  # an edited kid may be unhashable
        return [FIELD]
    key = ring.keys[kid]
    values = _values(entry, doc)
    if hmac.compare_digest(str(auth.get("mac")),
                           _mac(key, _message(collection, doc.get("_id"), "*", values))):
        return []
    stored = auth.get("fields") if isinstance(auth.get("fields"), dict) else {}
    bad = [name for name, value in values.items()
           if not hmac.compare_digest(str(stored.get(name.replace(".", "/"))),
                                      _mac(key, _message(collection, doc.get("_id"), name, value),
                                           FIELD_MAC_BYTES))]
    return bad or [FIELD]


def _refuse(collection, doc, bad):
    entry = PROTECTED[collection]
    log.warning("authority check failed: %s %s field(s) %s", collection, entry.label(doc),
                ",".join(bad))


def require(collection, doc, app=None):
    """The document, if authentic; Unauthentic (logged, no values) otherwise."""
    if doc is None:
        return None
    bad = verify(collection, doc, app)
    if bad:
        _refuse(collection, doc, bad)
        raise Unauthentic("This record failed its integrity check and cannot be used. An "
                          "auditor has to look at it.")
    return doc


def authentic(collection, doc, app=None):
    """The document if authentic, else None (logged): for decisions that ignore a forgery."""
    if doc is None:
        return None
    bad = verify(collection, doc, app)
    if bad:
        _refuse(collection, doc, bad)
        return None
    return doc


# Blocks --------------------------------------------------------------------------------------

def block_mac(block_hash_hex, app=None):
    """The app's authentication code for a block it appends: "<key id>:<HMAC of its hash>"."""
    ring = keyring(app)
    return f"{ring.current}:{ring.block_code(block_hash_hex)}"


def block_authentic(doc, app=None):
    """Whether a stored block carries the app's code for its own hash (an insider without the
    key cannot make one for a block they insert)."""
    return keyring(app).block_authentic(doc)


# Upgrading ------------------------------------------------------------------------------------

def adopt(db, app=None):
    """Give every protected document that has no `auth` yet its MAC (a database written before
    authority codes existed). Documents whose `auth` fails are left alone (and counted): that
    is tampering, not age. {collection: (adopted, failing)}."""
    counts = {}
    for collection in sorted(PROTECTED):
        adopted = failing = 0
        for doc in db[collection].find():
            if doc.get(FIELD) is None:
                if db[collection].update_one({"_id": doc["_id"], FIELD: None},
                                             {"$set": {FIELD: seal_of(collection, doc, app)}}
                                             ).matched_count:
                    adopted += 1
            elif verify(collection, doc, app):
                failing += 1
        counts[collection] = (adopted, failing)
    return counts


# Writing -------------------------------------------------------------------------------------

def apply(doc, update):
    """The document as `update` (the operators the models use) would leave it."""
    after = copy.deepcopy(doc)
    for operator, fields in update.items():
        for path, value in fields.items():
            *parents, last = path.split(".")
            target = after
            for name in parents:
                if not isinstance(target.get(name), dict):
                    target[name] = {}
                target = target[name]
            if operator == "$set":
                target[last] = copy.deepcopy(value)
            elif operator == "$unset":
                target.pop(last, None)
            elif operator == "$inc":
                target[last] = target.get(last, 0) + value
            elif operator == "$push":
                target[last] = list(target.get(last) or []) + [copy.deepcopy(value)]
            elif operator == "$addToSet":
                current = list(target.get(last) or [])
                target[last] = current + ([value] if value not in current else [])
            elif operator == "$pull":
                target[last] = [item for item in target.get(last) or []
                                if not _matches(item, value)]
            elif operator == "$setOnInsert":
                continue
            else:
                raise ValueError(f"authority.apply does not know {operator}")
    return after


def _matches(item, condition):
    if isinstance(condition, dict) and isinstance(item, dict):
        return all(item.get(key) == value for key, value in condition.items())
    return item == condition


def transition(collection, query, update, current=None, app=None):
    """A compare-and-set on a protected document that writes its new MAC in the same update.

    The document is read (or `current` used), verified (Unauthentic if it fails: never seal a
    forged state), changed in memory, MAC'd, and written only if it still matches `query` and
    the MAC that was read. The updated document, or None if it was not in the expected state
    (or changed meanwhile: the caller decides as for any lost compare-and-set).
    """
    name = collection.name
    doc = current if current is not None else collection.find_one(query)
    if doc is None or not _still(doc, query):
        return None
    require(name, doc, app)
    after = apply(doc, update)
    seal = seal_of(name, after, app)
    guarded = dict(query, _id=doc["_id"])
    guarded[f"{FIELD}.mac"] = doc[FIELD]["mac"]
    with_mac = dict(update)
    with_mac["$set"] = dict(update.get("$set", {}), **{FIELD: seal})
    if collection.update_one(guarded, with_mac).matched_count != 1:
        return None
    return collection.find_one({"_id": doc["_id"]})  # as stored (datetimes to the ms)


def set_undeciding(collection, doc_id, values):
    """Set fields that decide nothing (a search key, say) on a protected document.

    The MAC covers only the declared deciding fields, so it stays valid and no MAC is
    rewritten; a deciding field (or the MAC itself) is refused here rather than written
    without its code. Whether a document matched.
    """
    entry = PROTECTED.get(collection.name)
    deciding = entry.fields if entry else ()
    clash = [name for name in values if name == FIELD or name.startswith(FIELD + ".") or any(
        name == field or name.startswith(field + ".") or field.startswith(name + ".")
        for field in deciding)]
    if clash:
        raise ValueError(f"{collection.name}: {', '.join(clash)} decide(s) who may do what; "
                         "change them with `transition`")
    return collection.update_one({"_id": doc_id}, {"$set": dict(values)}).matched_count == 1


def transition_where(collection, query, update, app=None):
    """`transition` for a document found by another unique key (e.g. its human id)."""
    doc = collection.find_one(query)
    if doc is None:
        return None
    return transition(collection, dict(query, _id=doc["_id"]), update, current=doc, app=app)


def _still(doc, query):
    """Whether a document read earlier still satisfies an equality query (cheap pre-check)."""
    for path, wanted in query.items():
        if path.startswith("$") or isinstance(wanted, dict):
            continue
        if _get(doc, path) != wanted:
            return False
    return True
