"""Personal API tokens: a person's own key to the read-only FHIR API (/fhir/r4/), shown once.

A token is `mlt_` + 32 random bytes (URL-safe base64, 256 bits). Only its SHA-256 is stored.
Why not bcrypt, as for passwords: bcrypt's cost exists to slow the guessing of low-entropy
secrets chosen by people; nobody can enumerate 2**256 tokens however fast the hash is. A fast
hash also lets a request find its token by one indexed lookup (bcrypt's per-hash salt would
mean trying every stored token), and costs microseconds instead of bcrypt's ~100 ms on every
API call. A stolen database therefore yields no usable token.

The token document decides who may read through the API, so it is MAC'd (an insider cannot
insert a hash of their own or un-revoke one). Creation and revocation are sealed
(`account.api_token_created` / `account.api_token_revoked`); the token, its hash and its hint
never go on the chain or in a log. Every request checks the token again: a revoked or expired
token, a creation whose block is still pending, and the tokens of a disabled, locked or
tampered account (or one waiting for a new password) open nothing, at once. A creation cut by
a crash is sealed by reconcile like any change: its token was never shown, so nobody holds it;
the person sees it listed and revokes it.
"""
import hashlib
import secrets
from datetime import timedelta

from models.core.clock import now_ms, ts
from models.core.errors import Conflict, InvalidInput, NotFound
from models.core.transitions import next_in_sequence
from models.people import users
from models.sealing import registry
from models.sealing.registry import EventKind
from models.sealing.seam import (is_pending, merge, new_salts, pending_fields, pending_update,
                                 seal_pending)
from models.storage import authority

PREFIX = "mlt_"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100
"""Anything longer is not one of ours: refused before hashing."""
CREATED_KIND, REVOKED_KIND = "account.api_token_created", "account.api_token_revoked"
ACTIVE, REVOKED = "active", "revoked"
MAX_NAME_LENGTH = 80
MAX_ACTIVE = 20
"""Active tokens per person: enough for a few scripts and devices, not a leak of hundreds."""
EXPIRY_DAYS = (7, 30, 90, 365)
"""The lifetimes offered; None means no expiry (the person can still revoke it)."""
LIST_LIMIT = 200
LAST_USED_EVERY = timedelta(minutes=1)
"""`last_used_at` is written at most this often per token: not one write per API call."""

AUTHORITY = (authority.Protected(
    "api_tokens", ("token_id", "token_hash", "user_id", "state", "expires_at"),
    name=lambda doc: doc.get("token_id")),)
"""Whose token it is, which secret opens it, whether it is revoked and until when it works."""

INDEXES = {"api_tokens": [
    ([("token_hash", 1)], {"unique": True}),
    ([("token_id", 1)], {"unique": True}),
    ([("user_id", 1)], {}),
]}
"""The sealing heights' indexes come from the registry (EVENTS, at the end)."""


def digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token():
    return PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def _clean(name, expires_days):
    name = " ".join((name or "").split())
    problems = {}
    if not name:
        problems["name"] = "Give the token a name (what will use it?)."
    elif len(name) > MAX_NAME_LENGTH:
        problems["name"] = f"Use at most {MAX_NAME_LENGTH} characters."
    if expires_days is not None and expires_days not in EXPIRY_DAYS:
        problems["expires"] = "Choose one of the offered lifetimes."
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    return name


# Creating, listing, revoking --------------------------------------------------------------------

def create(db, user, name, expires_days=None, now=None):
    """(token document, the token itself): the token is returned this once and never stored."""
    name = _clean(name, expires_days)
    now = now or now_ms()
    # The person's tokens by the user_id index, counted here (a count scans on the embedded
    # server); an expired token no longer counts.
    active = sum(1 for doc in db.api_tokens.find({"user_id": user["human_id"]},
                                                 {"state": 1, "expires_at": 1}, limit=LIST_LIMIT)
                 if doc["state"] == ACTIVE and not is_expired(doc, now))
    if active >= MAX_ACTIVE:
        full = f"You already have {MAX_ACTIVE} active tokens: revoke one first."
        raise Conflict(full, {"name": full})
    token = new_token()
    doc = {
        "token_id": f"TOK-{next_in_sequence(db.counters, 'api_token'):06d}",
        "user_id": user["human_id"], "role": user["role"], "name": name,
        "token_hash": digest(token), "hint": token[:len(PREFIX) + 4],
        "state": ACTIVE, "created_at": now,
        "expires_at": now + timedelta(days=expires_days) if expires_days else None,
        "last_used_at": None, "revoked_at": None, "revoked_by": None,
        "sealed_height": None, "seals": {},
    }
    salts = new_salts(created_attributes(doc))
    doc = authority.stamp("api_tokens", pending_fields(doc, CREATED_KIND, salts))
    db.api_tokens.insert_one(doc)
    seal_pending(db, CREATED_KIND, doc, user, created_attributes(doc), salts)
    return doc, token


def for_user(db, user):
    """A person's tokens (no hash), newest first."""
    found = db.api_tokens.find({"user_id": user["human_id"]}, {"token_hash": 0},
                               limit=LIST_LIMIT)
    return sorted(found, key=lambda doc: doc["created_at"], reverse=True)


def is_expired(doc, now=None):
    return doc.get("expires_at") is not None and doc["expires_at"] <= (now or now_ms())


def revoke(db, user, token_id, now=None):
    """active → revoked, sealed; only the token's owner does it. Refused at once: the state
    changes in the same write as the pending marker, before the block."""
    doc = db.api_tokens.find_one({"token_id": (token_id or "").strip().upper(),
                                  "user_id": user["human_id"]})
    if doc is None:
        raise NotFound("There is no such token.")
    if doc["state"] != ACTIVE:
        raise Conflict("That token is already revoked.")
    at = now or now_ms()
    salts = new_salts(revoked_attributes(dict(doc, revoked_at=at, revoked_by=user["human_id"])))
    revoked = authority.transition(db.api_tokens, {"_id": doc["_id"], "state": ACTIVE}, merge(
        {"$set": {"state": REVOKED, "revoked_at": at, "revoked_by": user["human_id"]}},
        pending_update(REVOKED_KIND, salts)), current=doc)
    if revoked is None:
        raise Conflict("That token changed in the meantime (already revoked?).")
    seal_pending(db, REVOKED_KIND, revoked, user, revoked_attributes(revoked), salts)
    return revoked


# Using one --------------------------------------------------------------------------------------

def authenticate(db, presented, now=None):
    """The account a presented token opens, or None: unknown, malformed, revoked, expired,
    still pending, forged, or the account disabled, locked, forged or waiting for a new
    password. Every refusal looks the same to the caller."""
    if not isinstance(presented, str) or not presented.startswith(PREFIX) \
            or len(presented) > MAX_TOKEN_LENGTH:
        return None
    now = now or now_ms()
    doc = authority.authentic("api_tokens", db.api_tokens.find_one(
        {"token_hash": digest(presented)}))
    if doc is None or doc["state"] != ACTIVE or is_pending(doc) or is_expired(doc, now):
        return None
    user = authority.authentic("users", users.by_human_id(db, doc["user_id"]))
    if user is None or not user.get("active", True) or users.is_locked(user, now) \
            or user.get("must_set_password"):
        return None
    last = doc.get("last_used_at")
    if last is None or now - last >= LAST_USED_EVERY:
        authority.set_undeciding(db.api_tokens, doc["_id"], {"last_used_at": now})
    return user


# What the ledger seals, and how the audit and reconcile find it again -------------------------

def created_attributes(doc):
    """Whose token, which one, its name and lifetime: never the token nor its hash."""
    return {"token": doc["token_id"], "account": doc["user_id"], "name": doc["name"],
            "expires": ts(doc["expires_at"]) or "never", "at": ts(doc["created_at"])}


def revoked_attributes(doc):
    return {"token": doc["token_id"], "account": doc["user_id"], "by": doc["revoked_by"],
            "at": ts(doc["revoked_at"])}


def _salts(doc, event):
    return ((doc.get("seals") or {}).get(event) or {}).get("salts", {})


def _named(db, block, prefetched):
    token_id = (block.get("subject") or {}).get("token")
    if not isinstance(token_id, str):
        return None
    doc = registry.take(prefetched, block,
                        lambda doc: registry.same(doc.get("token_id"), token_id))
    return doc if doc is not None else db.api_tokens.find_one({"token_id": token_id})


def rebuild_created(db, block, data_key, prefetched=None):
    doc = _named(db, block, prefetched)
    return (created_attributes(doc), _salts(doc, "created")) if doc else None


def rebuild_revoked(db, block, data_key, prefetched=None):
    doc = _named(db, block, prefetched)
    if doc is None or doc.get("revoked_at") is None:
        return None
    return revoked_attributes(doc), _salts(doc, "revoked")


def coverage(db):
    """Every token must be sealed, and so must every revocation."""
    for doc in db.api_tokens.find({}, {"token_id": 1, "state": 1, "sealed_height": 1,
                                       "seals": 1}):
        yield "api_tokens", doc["token_id"], doc.get("sealed_height")
        if doc.get("state") == REVOKED:
            height = registry.field_of(doc, "seals.revoked.height")
            yield "api_tokens", f"{doc['token_id']} revoked", height


def _subject(doc):
    return {"token": doc["token_id"], "account": doc["user_id"]}


def _owner(db, doc):
    return users.by_human_id(db, doc["user_id"])


def _revoker(db, doc):
    return users.by_human_id(db, doc.get("revoked_by") or "")


EVENTS = (
    EventKind(CREATED_KIND, "api_tokens", "sealed_height", rebuild_created,
              creates_document=True, subject=_subject, salts_at="seals.created.salts",
              also_at=("seals.created.height",), actor=_owner,
              sealed=lambda db, data_key, doc: (created_attributes(doc), _salts(doc, "created")),
              label=lambda doc: doc["token_id"]),
    EventKind(REVOKED_KIND, "api_tokens", "seals.revoked.height", rebuild_revoked,
              subject=_subject, salts_at="seals.revoked.salts", actor=_revoker,
              sealed=lambda db, data_key, doc: (revoked_attributes(doc), _salts(doc, "revoked")),
              label=lambda doc: f"{doc['token_id']} revoked"),
)
COVERAGE = (coverage,)
