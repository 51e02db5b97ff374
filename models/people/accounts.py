"""Accounts that someone else opens for a person: name and username rules, one-time setup codes,
and the admin's account actions (find, unlock, disable).

A manager or an admin never chooses another person's password. The new account gets a
one-time setup code, shown once, that works as the first password; `must_set_password`
then makes the guard send the person to `auth.set_password` before anything else.
"""
import re
import secrets
import unicodedata

from models.core import clock
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.storage import authority
from models.storage.authority import transition_where
from models.people import users

# Lock-outs are listed by a range on locked_until; unlocked accounts hold None, which a
# datetime range never matches.
INDEXES = {
    "users": [([("locked_until", 1)], {})],
}

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
NAME_PUNCTUATION = set(" '-.")
MAX_NAME_LENGTH = 100
SETUP_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud at a desk
SETUP_CODE_GROUPS = 4
LIST_LIMIT = 200


USERNAME_TAKEN = "That username is taken."


def check_fields(checks, errors):
    """Run (field, cleaner, value) checks: the values that are clean; each bad field's
    message goes into `errors`, so the caller can add its own checks before refusing."""
    cleaned = {}
    for field, cleaner, value in checks:
        try:
            cleaned[field] = cleaner(value)
        except InvalidInput as exc:
            errors[field] = exc.message
    return cleaned


def clean_fields(checks, extra_errors=None):
    """Run (field, cleaner, value) checks; the cleaned values, or one InvalidInput naming
    every bad field at once (so a form shows all its problems in one round trip)."""
    errors = dict(extra_errors or {})
    cleaned = check_fields(checks, errors)
    refuse(errors)
    return cleaned


def taken_username(db, username, field="username"):
    """{field: "That username is taken."} when a clean username is in use, else {} (keyed
    by the form's own field name, so the message shows on that field)."""
    return {field: USERNAME_TAKEN} if username and users.by_username(db, username) else {}


def refuse(invalid, taken=None):
    """Refuse every problem at once: InvalidInput (400) when any field is invalid, with the
    taken names beside them; Conflict (409) when the only problem is a name in use."""
    taken = taken or {}
    if invalid:
        raise InvalidInput("Check the highlighted fields.", {**taken, **invalid})
    if taken:
        raise Conflict(next(iter(taken.values())), taken)


def clean_name(name):
    """A person's name, NFC and single-spaced; InvalidInput names the field."""
    text = " ".join(unicodedata.normalize("NFC", name or "").split())
    if len(text) < 2:
        raise InvalidInput("Enter the full name.", {"name": "Enter the full name."})
    if len(text) > MAX_NAME_LENGTH:
        problem = f"Use at most {MAX_NAME_LENGTH} characters."
        raise InvalidInput(problem, {"name": problem})
    if not any(ch.isalpha() for ch in text) or not all(
            ch.isalpha() or unicodedata.category(ch).startswith("M") or ch in NAME_PUNCTUATION
            for ch in text):
        problem = "Use letters, spaces, apostrophes, hyphens and dots only."
        raise InvalidInput(problem, {"name": problem})
    return text


def clean_username(username):
    text = users.normalize_username(username)
    if not USERNAME_RE.match(text):
        problem = ("3 to 40 characters: lower-case letters, digits, dots, hyphens or "
                   "underscores, starting with a letter or digit.")
        raise InvalidInput(problem, {"username": problem})
    return text


def check_username_free(db, username):
    refuse({}, taken_username(db, username))


def new_setup_code():
    """e.g. K7QM-2XWP-9HTR-C4NB: 80 bits, long enough to pass the password policy."""
    groups = ("".join(secrets.choice(SETUP_CODE_ALPHABET) for _ in range(4))
              for _ in range(SETUP_CODE_GROUPS))
    return "-".join(groups)


def create_with_setup_code(db, *, rounds, **fields):
    """(account, code): the code is the first password and is never stored in clear."""
    code = new_setup_code()
    account = users.create_user(db, password=code, rounds=rounds, must_set_password=True, **fields)
    return account, code


def create_with_password_hash(db, password_hash, **fields):
    """An account whose bcrypt hash was computed once by the caller (demo data only)."""
    account = users.create_user(db, password=None, **fields)
    return authority.transition(db.users, {"_id": account["_id"]}, {"$set": {
        "password_hash": password_hash, "must_set_password": False}}, current=account)


def find(db, query):
    """One account by human id or username (both unique indexes), or None."""
    query = (query or "").strip()
    if not query:
        return None
    return users.by_human_id(db, query) or users.by_username(db, query)


def locked(db, at=None):
    """Accounts locked right now, oldest lock-out expiry first (bounded, indexed)."""
    found = db.users.find({"locked_until": {"$gt": at or clock.now()}},
                          {"password_hash": 0}, limit=LIST_LIMIT)
    return sorted(found, key=lambda doc: doc["locked_until"])


def unlock(db, human_id, at=None):
    """Clear a lock-out; an account that is not locked is a Conflict."""
    doc = transition_where(
        db.users, {"human_id": human_id, "locked_until": {"$gt": at or clock.now()}},
        {"$set": {"locked_until": None, "failed_logins": 0}})
    if doc is None:
        _require(db, human_id)
        raise Conflict("That account is not locked.")
    return doc


def by_role(db, role):
    """Accounts of one role (small roles only: admins, auditors), by human id."""
    found = db.users.find({"role": role}, {"password_hash": 0}, limit=LIST_LIMIT)
    return sorted(found, key=lambda doc: doc["human_id"])


def _require(db, human_id):
    if not db.users.find_one({"human_id": human_id}, {"_id": 1}):
        raise NotFound("There is no such account.")


def create_auditor(db, *, name, username, rounds, created_by=None):
    """(auditor, setup code); every field is checked before anything is written."""
    invalid = {}
    cleaned = check_fields((("name", clean_name, name), ("username", clean_username, username)),
                           invalid)
    refuse(invalid, taken_username(db, cleaned.get("username")))
    return create_with_setup_code(db, rounds=rounds, role=users.AUDITOR, created_by=created_by,
                                  **cleaned)
