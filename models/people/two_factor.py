"""Two-factor sign-in (TOTP, RFC 6238) and recovery codes: the state and its atomic checks.

One `two_factor` document per account that ever started enrolment. The seed is encrypted at
rest (AES-GCM under the data key, bound to the account) and the fields that decide a sign-in
(enabled, seed, pending seed, last accepted step, recovery code hashes) carry an authority MAC,
so an insider with write access to MongoDB can neither plant a seed or a recovery code they
know nor rewind the last accepted step to replay a code.

Each code works once: the last accepted 30 s step is kept and only a later one is accepted,
in one compare-and-set (`last_step < step`, plus the MAC that was read), so two workers racing
with the same code cannot both win. Sealed changes (enrolment, reset, recovery-code use) are
in `two_factor_events`.
"""
import hashlib
import hmac
import re
import secrets

import pymongo
import pyotp

from models.core import clock
from models.core.errors import Conflict
from models.storage import authority, crypto

STEP_SECONDS = 30
DIGITS = 6
WINDOW = (-1, 0, 1)
"""Steps accepted around now: the phone's clock may be half a minute off either way."""
RECOVERY_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/i/l: copied from paper
RECOVERY_GROUP = 5
ATTEMPTS = 10
ISSUER = "MedLedger"

AUTHORITY = (authority.Protected(
    "two_factor", ("user_id", "enabled", "secret", "pending", "last_step", "codes"),
    name=lambda doc: doc.get("user_id")),)
INDEXES = {"two_factor": [([("user_id", 1)], {"unique": True})]}


def required(user, roles):
    """Whether the account's role must use two-factor sign-in (config TWO_FACTOR_ROLES)."""
    return user.get("role") in tuple(roles or ())


def state(db, user):
    """The account's two-factor document, checked (Unauthentic if forged: fail closed), or
    None when it never started enrolment."""
    return authority.require("two_factor", db.two_factor.find_one({"user_id": user["human_id"]}))


def is_enabled(db, user):
    doc = state(db, user)
    return bool(doc and doc.get("enabled"))


def missing(db, user, roles):
    """A role that must use two-factor sign-in, on an account that has not enrolled yet."""
    return required(user, roles) and not is_enabled(db, user)


def _binding(doc):
    return f"two-factor/{doc['user_id']}"


def clean_code(code):
    """The six digits of a pasted or typed code ("123 456", "123-456"), or None."""
    digits = re.sub(r"[\s-]", "", code or "")
    return digits if len(digits) == DIGITS and digits.isdigit() else None


def step_at(moment):
    return int(moment.timestamp()) // STEP_SECONDS


def matched_step(secret, code, moment):
    """The latest step around `moment` whose code is `code`, or None."""
    digits = clean_code(code)
    if digits is None:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now = step_at(moment)
    found = [now + offset for offset in WINDOW
             if hmac.compare_digest(totp.generate_otp(now + offset), digits)]
    return max(found) if found else None


# Enrolment ------------------------------------------------------------------------------------

def pending_secret(db, key, user):
    """The seed being enrolled (the same one on every visit of the page until it is activated,
    so a reload does not invalidate a QR code already scanned)."""
    doc = state(db, user)
    if doc is not None and doc.get("enabled"):
        raise Conflict("Two-factor sign-in is already on for this account.")
    if doc is not None and doc.get("pending"):
        return crypto.decrypt_secret(key, _binding(doc), doc["pending"])
    seed = pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends
    if doc is None:
        fresh = {"user_id": user["human_id"], "enabled": False, "secret": None, "last_step": 0,
                 "codes": [], "created_at": clock.now()}
        fresh["pending"] = crypto.encrypt_secret(key, _binding(fresh), seed)
        try:
            db.two_factor.insert_one(authority.stamp("two_factor", fresh))
            return seed
        except pymongo.errors.DuplicateKeyError:  # a second tab won: use its seed
            return pending_secret(db, key, user)
    box = crypto.encrypt_secret(key, _binding(doc), seed)
    if authority.transition(db.two_factor, {"_id": doc["_id"], "enabled": False},
                            {"$set": {"pending": box}}, current=doc) is None:
        return pending_secret(db, key, user)
    return seed


def provisioning_uri(user, seed):
    return pyotp.TOTP(seed).provisioning_uri(name=user["username"], issuer_name=ISSUER)


def manual_key(seed):
    """The seed in groups of four, as authenticator apps accept it typed in."""
    return " ".join(seed[i:i + 4] for i in range(0, len(seed), 4))


def seed_of(key, doc, field="secret"):
    return crypto.decrypt_secret(key, _binding(doc), doc[field])


# Codes -----------------------------------------------------------------------------------------

def accept_code(db, key, user, code, at=None):
    """Whether `code` signs this account in now: a code of the step before, the current or the
    next one, later than the last accepted step, recorded atomically (so each code works once)."""
    doc = state(db, user)
    if doc is None or not doc.get("enabled") or clean_code(code) is None:
        return False
    step = matched_step(seed_of(key, doc), code, at or clock.now())
    return step is not None and advance(db, doc, step)


def advance(db, doc, step):
    """last_step := step, only if it is lower: one compare-and-set (`last_step < step` and the
    MAC that was read), retried only when something else changed the document."""
    for _ in range(ATTEMPTS):
        if doc is None or not doc.get("enabled") or int(doc.get("last_step") or 0) >= step:
            return False
        if authority.transition(db.two_factor, {"_id": doc["_id"], "last_step": {"$lt": step}},
                                {"$set": {"last_step": step}}, current=doc) is not None:
            return True
        doc = authority.require("two_factor", db.two_factor.find_one({"_id": doc["_id"]}))
    return False


def new_recovery_codes():
    """(codes to show once, what is stored): ten codes of 50 random bits each, stored as salted
    SHA-256 (random codes need no slow hash: there is no dictionary to try)."""
    shown, stored = [], []
    for index in range(RECOVERY_COUNT):
        code = "-".join("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUP))
                        for _ in range(2))
        salt = secrets.token_hex(16)
        shown.append(code)
        stored.append({"id": f"{index}-{secrets.token_hex(4)}", "salt": salt,
                       "hash": _recovery_hash(salt, code)})
    return shown, stored


def _clean_recovery(code):
    return re.sub(r"[\s-]", "", (code or "").lower())


def _recovery_hash(salt, code):
    return hashlib.sha256(bytes.fromhex(salt) + _clean_recovery(code).encode()).hexdigest()


def matching_recovery(doc, code):
    """The stored entry `code` matches (every entry compared, in constant time), or None."""
    cleaned = _clean_recovery(code)
    if doc is None or not doc.get("enabled") or len(cleaned) != 2 * RECOVERY_GROUP:
        return None
    found = None
    for entry in doc.get("codes") or []:
        if hmac.compare_digest(_recovery_hash(entry["salt"], cleaned), entry["hash"]):
            found = entry
    return found


def remaining_codes(doc):
    return len((doc or {}).get("codes") or [])
