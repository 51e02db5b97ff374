"""Accounts: creation, password checks with lockout, and the roles people hold.

Passwords are bcrypt hashes; bcrypt only reads 72 bytes, so longer passwords are refused
up front instead of being silently truncated.
"""
import secrets
from datetime import timedelta
from functools import lru_cache

import bcrypt
import pymongo
from bson import ObjectId
from bson.errors import InvalidId

from models.core import clock, ids, names
from models.sealing.seam import is_pending
from models.core.errors import Conflict, InvalidInput
from models.storage import authority

ADMIN = "admin"
ORG_MANAGER = "org_manager"
DOCTOR = "doctor"
PHARMACIST = "pharmacist"
LAB_TECH = "lab_tech"
FRONT_DESK = "front_desk"
RESEARCHER = "researcher"
PATIENT = "patient"
AUDITOR = "auditor"
ROLES = (ADMIN, ORG_MANAGER, DOCTOR, PHARMACIST, LAB_TECH, FRONT_DESK, RESEARCHER, PATIENT,
         AUDITOR)
STAFF_ROLES = (PHARMACIST, LAB_TECH, FRONT_DESK, RESEARCHER)
ROLE_LABELS = {
    ADMIN: "Administrator", ORG_MANAGER: "Organization manager", DOCTOR: "Doctor",
    PHARMACIST: "Pharmacist", LAB_TECH: "Lab technician", FRONT_DESK: "Front desk",
    RESEARCHER: "Researcher", PATIENT: "Patient", AUDITOR: "Auditor",
}
HUMAN_ID_KIND = {
    ADMIN: "admin", ORG_MANAGER: "staff", DOCTOR: "doctor", PHARMACIST: "staff",
    LAB_TECH: "staff", FRONT_DESK: "staff", RESEARCHER: "staff", PATIENT: "patient",
    AUDITOR: "auditor",
}

AUTHORITY = (authority.Protected(
    "users", ("username", "human_id", "role", "org_id", "password_hash", "must_set_password",
              "active", "locked_until", "failed_logins", "verification.state", "actor"),
    name=lambda doc: doc.get("human_id")),)
"""The fields that decide who an account is and what it may do: MAC'd (models.storage.
authority), checked at sign-in and by every request's user loader."""

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_BYTES = 72
REFUSED = ("Unknown username or wrong password. After several failed attempts an account is "
           "locked for a while: try again later, or ask an administrator.")
"""The one answer to every refused sign-in (unknown username, wrong password, locked account),
so that the page never tells whether an account exists or is locked."""

INDEXES = {
    "users": [
        ([("username", 1)], {"unique": True}),
        ([("human_id", 1)], {"unique": True}),
        ([("org_id", 1), ("role", 1)], {}),
        ([("role", 1), ("verification.state", 1)], {}),
    ],
}


def password_problem(password, username):
    """The reason a password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return f"Use at most {MAX_PASSWORD_BYTES} bytes (bcrypt ignores anything longer)."
    if username and password.strip().lower() == username.strip().lower():
        return "The password must not be the username."
    return None


PASSWORDS_DIFFER = "The passwords differ."


def new_password_problems(password, confirm=None, username=None):
    """{field: message} for a new password and its repetition (when one is given): both
    problems at once, so a form shows them together."""
    problems = {}
    problem = password_problem(password or "", username)
    if problem:
        problems["password"] = problem
    if confirm is not None and confirm != password:
        problems["confirm"] = PASSWORDS_DIFFER
    return problems


def hash_password(password, rounds):
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")


def check_password(user, password):
    stored = user.get("password_hash")
    if not stored or len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return False
    return bcrypt.checkpw(password.encode("utf-8"), stored.encode("ascii"))


def normalize_username(username):
    return (username or "").strip().lower()


def create_user(db, *, username, role, name, password=None, rounds=12, org_id=None,
                profile=None, must_set_password=False, verified=None, created_by=None):
    """Insert one account atomically; a taken username is a Conflict, never a half account."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}")
    username = normalize_username(username)
    if password is not None:
        problem = password_problem(password, username)
        if problem:
            raise InvalidInput(problem, {"password": problem})
    if db.users.find_one({"username": username}, {"_id": 1}):
        raise Conflict("That username is taken.", {"username": "That username is taken."})
    state = "verified" if verified or role != DOCTOR else "unverified"
    doc = {
        "username": username,
        "password_hash": hash_password(password, rounds) if password else None,
        "must_set_password": must_set_password or password is None,
        "role": role,
        "name": name.strip(),
        "human_id": ids.next_id(db, HUMAN_ID_KIND[role]),
        "org_id": org_id,
        "profile": profile or {},
        "active": True,
        "verification": {"state": state},
        "failed_logins": 0,
        "locked_until": None,
        "actor": "act-" + secrets.token_hex(8),
        "created_at": clock.now(),
        "created_by": created_by,
    }
    doc.update(names.name_keys(role, doc["name"]))  # searches by name (people.directory)
    try:
        db.users.insert_one(authority.stamp("users", doc))
    except pymongo.errors.DuplicateKeyError:
        raise Conflict("That username is taken.", {"username": "That username is taken."}) from None
    return doc


def get(db, user_id):
    try:
        oid = user_id if isinstance(user_id, ObjectId) else ObjectId(str(user_id))
    except (InvalidId, TypeError):
        return None
    return db.users.find_one({"_id": oid})


def by_username(db, username):
    return db.users.find_one({"username": normalize_username(username)})


def by_human_id(db, human_id, role=None):
    # human_id is unique: the role is checked here rather than as a second query field,
    # which would cost the embedded server a second index lookup.
    found = db.users.find_one({"human_id": (human_id or "").strip().upper()})
    return found if found is not None and (not role or found.get("role") == role) else None


def is_locked(user, at=None):
    until = user.get("locked_until")
    return bool(until and until > (at or clock.now()))


class LoginResult:
    def __init__(self, user=None, error=None, locked=False, held=False):
        self.user, self.error, self.locked = user, error, locked
        self.held = held  # the password is right; a second factor is still to come


@lru_cache(maxsize=4)
def _decoy_hash(rounds):
    """A hash nobody's password matches, checked for unknown usernames so that they cost the
    same bcrypt time as a real account (timing would otherwise tell them apart)."""
    return hash_password(secrets.token_urlsafe(24), rounds)


def authenticate(db, username, password, *, threshold=5, lock_minutes=15, rounds=12,
                 hold=None):
    """Check a login; after `threshold` failures the account locks for `lock_minutes`.

    Unknown usernames, wrong passwords and locked accounts get the same answer (`REFUSED`)
    after the same bcrypt work, so a stranger learns neither that an account exists nor that
    it is locked (the log and the admin's list say so). Only the right password of a disabled
    account is told that it is disabled. `hold(user)` true (a second factor still to come)
    leaves the failure count as it is: `succeeded` clears it after the code, so knowing the
    password does not buy unlimited code guesses. An account document that fails its authority
    check (a password hash, role or lock written outside the app) signs nobody in: the answer
    of an unknown username, and a log line.
    """
    user = authority.authentic("users", by_username(db, username))
    if user is None:
        check_password({"password_hash": _decoy_hash(rounds)}, password)
        return LoginResult(error=REFUSED)
    right = check_password(user, password)
    if is_locked(user):
        return LoginResult(error=REFUSED, locked=True)
    if not right:
        return LoginResult(error=REFUSED,
                           locked=_count_failure(db, user, threshold, lock_minutes))
    if not user.get("active", True):
        return LoginResult(error="This account is disabled.")
    if hold is not None and hold(user):
        return LoginResult(user=user, held=True)
    succeeded(db, user)
    return LoginResult(user=user)


def succeeded(db, user):
    """A complete sign-in: the failure count starts again."""
    authority.transition(db.users, {"_id": user["_id"]}, {"$set": {
        "failed_logins": 0, "locked_until": None, "last_login": clock.now()}}, current=user)


def count_failure(db, user, threshold, lock_minutes):
    """A failed second step counts towards the lock-out as a wrong password does."""
    return _count_failure(db, user, threshold, lock_minutes)


def _count_failure(db, user, threshold, lock_minutes, attempts=20):
    """+1 failed login (locking at `threshold`) as an authenticated compare-and-set, retried
    when another attempt changed the account first; whether this one locked it."""
    for _ in range(attempts):
        failures = int(user.get("failed_logins") or 0) + 1
        update = {"$set": {"failed_logins": failures}}
        if failures >= threshold:
            update = {"$set": {"failed_logins": 0,
                               "locked_until": clock.now() + timedelta(minutes=lock_minutes)}}
        if authority.transition(db.users, {"_id": user["_id"]}, update, current=user):
            return failures >= threshold
        user = authority.require("users", db.users.find_one({"_id": user["_id"]}))
        if user is None or is_locked(user):
            return False
    return False


def unlock(db, user_id):
    return authority.transition(db.users, {"_id": user_id}, {"$set": {
        "locked_until": None, "failed_logins": 0}}) is not None


def set_password(db, user, password, rounds, confirm=None):
    problems = new_password_problems(password, confirm, user["username"])
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    changed = authority.transition(db.users, {"_id": user["_id"]}, {"$set": {
        "password_hash": hash_password(password, rounds), "must_set_password": False}})
    if changed is None:
        raise Conflict("Your account changed in the meantime; sign in again.")
    return changed


def set_active(db, user_id, active):
    return authority.transition(db.users, {"_id": user_id},
                                {"$set": {"active": bool(active)}}) is not None


class User:
    """The signed-in person as Flask-Login sees it; a thin view over the account document."""

    is_anonymous = False
    needs_two_factor = False
    """Set by the user loader: a role that must use two-factor sign-in, not enrolled yet."""

    def __init__(self, doc):
        self.doc = doc

    def get_id(self):
        return str(self.doc["_id"])

    @property
    def id(self):
        return self.doc["_id"]

    @property
    def is_authenticated(self):
        return True

    @property
    def is_active(self):
        return bool(self.doc.get("active", True))

    def __getattr__(self, name):
        try:
            return self.doc[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def role_label(self):
        return ROLE_LABELS[self.doc["role"]]

    @property
    def must_set_password(self):
        return bool(self.doc.get("must_set_password"))

    @property
    def needs_verification(self):
        """A doctor whose licence is not verified, or whose verification still waits for its
        block (not in force until sealed)."""
        return self.doc["role"] == DOCTOR and (self.doc["verification"]["state"] != "verified"
                                               or is_pending(self.doc))
