"""Finding people and organizations by what people know of them: a name, a date of birth, a
specialty, a kind of organization. Ids still work, and are shown beside every name.

Every search is bounded and shaped for the embedded server, which uses an index for an
equality or a range on a secondary field but scans for sorts, counts and regular expressions:
a person is found by a prefix range on the folded, role-prefixed `name_key` / `surname_key`
(models.core.names), or by equality on a patient's date of birth; at most LIMIT + 1 documents
come back and are sorted here. What a search shows identifies a person (name, date of birth,
age, sex and id; an organization and specialty for a doctor) and nothing more: no contact
details, nothing clinical. A search changes nothing, so nothing is sealed.
"""
import re
from dataclasses import dataclass
from datetime import date

from models.core import clock, names, specialties
from models.core.errors import InvalidInput, NotFound
from models.storage import authority
from models.people import organizations, patients, users

LIMIT = 20
MIN_LETTERS = 2
WIDER_LIMIT = 200
"""A multi-word search typed out of order ("leo lopez" for Leo García López) reads the range of
its longest word, filtered here: at most this many candidates."""
PATIENT_ID_RE = re.compile(r"^PAT-\d{6}$")
ACCOUNT_ID_RE = re.compile(r"^[A-Z]{3}-\d{4,6}$")
DOCTOR_FIELDS = {"human_id": 1, "name": 1, "role": 1, "active": 1, "org_id": 1,
                 "profile.specialty": 1, "verification.state": 1}
ACCOUNT_FIELDS = dict(patients.CARD_FIELDS, username=1, org_id=1)
GRANTEE_KINDS = (("", "Doctors and organizations"), ("doctor", "Doctors")) + tuple(
    (kind, organizations.KIND_LABELS[kind]) for kind in organizations.CARE_KINDS)
KEYS_MARKER = "search_keys"
KEYS_VERSION = 1
"""Bump when the key format changes: the next start-up recomputes every account's keys."""

INDEXES = {
    "users": [
        ([("name_key", 1)], {}),
        ([("surname_key", 1)], {}),
        ([("profile.date_of_birth", 1)], {}),
        ([("profile.specialty", 1)], {}),
    ],
}
"""Search fields decide nothing: they carry no MAC (models.storage.authority)."""


@dataclass
class Found:
    """At most LIMIT results; `more` when others matched too (type more to narrow it)."""
    items: list
    more: bool = False


def _bounded(items, key, limit):
    items = sorted(items, key=key)
    return Found(items[:limit], len(items) > limit)


# Patients ------------------------------------------------------------------------------------

def clean_patient_query(name, date_of_birth):
    """(typed words, ISO date of birth or None), or InvalidInput naming the field."""
    typed = names.words(name)
    errors = {}
    if typed and sum(len(word) for word in typed) < MIN_LETTERS:
        errors["name"] = f"Type at least {MIN_LETTERS} letters of the name."
    born = None
    text = (date_of_birth or "").strip() if isinstance(date_of_birth, str) else date_of_birth
    if isinstance(text, date):
        born = text.isoformat()
    elif text:
        try:
            born = date.fromisoformat(text).isoformat()
        except ValueError:
            errors["date_of_birth"] = "Enter the date of birth as YYYY-MM-DD."
    if not errors and not typed and not born:
        problem = "Enter a name, a date of birth, or both."
        errors["name"] = problem
    if errors:
        raise InvalidInput(next(iter(errors.values())), errors)
    return typed, born


def _by_name(db, role, typed, fields):
    """Accounts of `role` whose name has the typed words: the phrase as a prefix of either
    key, then (for words out of order) the longest word's range, filtered here."""
    phrase = " ".join(typed)
    found = {}
    for key in ("name_key", "surname_key"):
        for doc in db.users.find({key: names.prefix_range(f"{role}:{phrase}")}, fields,
                                 limit=LIMIT + 1):
            found.setdefault(doc["_id"], doc)
    if len(typed) > 1 and len(found) <= LIMIT:
        longest = max(typed, key=len)
        for key in ("name_key", "surname_key"):
            for doc in db.users.find({key: names.prefix_range(f"{role}:{longest}")}, fields,
                                     limit=WIDER_LIMIT):
                found.setdefault(doc["_id"], doc)
    return [doc for doc in found.values()
            if doc.get("role") == role and names.matches(typed, doc.get("name"))]


def find_patients(db, name="", date_of_birth="", limit=LIMIT):
    """Patients by name and/or date of birth (or a patient id typed as the name): cards."""
    text = (name or "").strip().upper()
    if PATIENT_ID_RE.match(text) and not date_of_birth:
        found = patients.card_of(db, text)
        return Found([found] if found else [])
    typed, born = clean_patient_query(name, date_of_birth)
    if born:
        docs = [doc for doc in db.users.find({"profile.date_of_birth": born}, patients.CARD_FIELDS,
                                             limit=patients.SAME_BIRTH_DATE_LIMIT)
                if doc.get("role") == users.PATIENT and names.matches(typed, doc.get("name"))]
    else:
        docs = _by_name(db, users.PATIENT, typed, patients.CARD_FIELDS)
    today = clock.now().date()
    return _bounded([patients.card(doc, today) for doc in docs],
                    lambda card: (names.fold(card["name"]), card["date_of_birth"] or "",
                                  card["human_id"]), limit)


# Doctors and organizations (whom a patient shares with) ----------------------------------------

def _doctor_card(doc, orgs):
    org = orgs.get(doc.get("org_id"))
    specialty = (doc.get("profile") or {}).get("specialty")
    return {"kind": "doctor", "human_id": doc["human_id"], "name": doc["name"],
            "organization": org["name"] if org else None, "org_id": doc.get("org_id"),
            "specialty": specialties.label(specialty), "kind_label": "Doctor"}


def _organization_card(org):
    return {"kind": "organization", "human_id": org["human_id"], "name": org["name"],
            "organization": None, "org_id": org["human_id"], "specialty": "",
            "kind_label": organizations.KIND_LABELS.get(org.get("kind"), "Organization")}


def _shareable_doctor(doc):
    return doc.get("role") == users.DOCTOR and doc.get("active", True) \
        and (doc.get("verification") or {}).get("state") == "verified"


def find_doctors(db, text="", specialty=None):
    """Verified, active doctors by name, or by specialty (chosen, or typed: "cardio")."""
    typed = names.words(text)
    codes = [specialty] if specialty in specialties.LABELS else []
    if not typed and not codes:
        return []
    docs = {}
    if typed:
        docs.update((doc["_id"], doc) for doc in _by_name(db, users.DOCTOR, typed, DOCTOR_FIELDS))
    by_specialty = codes or specialties.matching(text)
    for code in by_specialty:
        for doc in db.users.find({"profile.specialty": code}, DOCTOR_FIELDS, limit=WIDER_LIMIT):
            if codes and typed and not names.matches(typed, doc.get("name")):
                continue
            docs.setdefault(doc["_id"], doc)
    if codes and typed:  # a name and a chosen specialty: both must hold
        docs = {key: doc for key, doc in docs.items()
                if (doc.get("profile") or {}).get("specialty") in codes}
    shown = [doc for doc in docs.values() if _shareable_doctor(doc)]
    orgs = organizations.by_human_ids(db, [doc.get("org_id") for doc in shown])
    return [_doctor_card(doc, orgs) for doc in shown]


def find_doctors_of(db, org_id):
    """Verified, active doctors of one organization (equality on the indexed org_id and role,
    at most WIDER_LIMIT), as cards."""
    docs = db.users.find({"org_id": (org_id or "").strip().upper(), "role": users.DOCTOR},
                         DOCTOR_FIELDS, limit=WIDER_LIMIT)
    shown = [doc for doc in docs if _shareable_doctor(doc)]
    orgs = organizations.by_human_ids(db, [doc.get("org_id") for doc in shown])
    return [_doctor_card(doc, orgs) for doc in shown]


def find_organizations(db, text="", kind=None):
    """Active organizations by name (any word) and/or kind: organizations are few (tens to
    hundreds, read with one bounded query), so they are filtered here."""
    typed = names.words(text)
    if not typed and kind not in organizations.CARE_KINDS:
        return []
    return [_organization_card(org) for org in organizations.list_all(db)
            if org.get("active", True) and organizations.shares_records(org)
            and (kind not in organizations.CARE_KINDS or org["kind"] == kind)
            and names.matches(typed, org["name"])]


def find_grantees(db, text="", kind="", specialty=""):
    """Doctors and organizations a patient may share with, by name, specialty and kind."""
    if not names.words(text) and kind not in organizations.CARE_KINDS and not specialty:
        problem = "Type a name or a specialty, or choose a kind of organization."
        raise InvalidInput(problem, {"q": problem})
    if kind not in dict(GRANTEE_KINDS):
        raise InvalidInput("Choose doctors or a kind of organization.",
                           {"kind": "Choose doctors or a kind of organization."})
    found = []
    if kind in ("", "doctor"):
        found += find_doctors(db, text, specialty or None)
    if kind != "doctor" and not specialty:
        found += find_organizations(db, text, kind or None)
    return _bounded(found, lambda card: (card["kind"] != "organization", names.fold(card["name"]),
                                         card["human_id"]), LIMIT)


def grantee_card(db, grantee_id):
    """Whom a patient is about to share with (name, organization, specialty), or NotFound:
    an active verified doctor (DOC-…) or an active organization (ORG-…)."""
    text = (grantee_id or "").strip().upper()
    if text.startswith("DOC-"):
        doc = authority.authentic("users", users.by_human_id(db, text, role=users.DOCTOR))
        if doc and _shareable_doctor(doc):
            return _doctor_card(doc, organizations.by_human_ids(db, [doc.get("org_id")]))
    elif text.startswith("ORG-"):
        org = organizations.get(db, text)
        if org and org.get("active", True) and organizations.shares_records(org):
            return _organization_card(org)
    raise NotFound("No active doctor or organization has that id: search by name instead.")


# Accounts (the administrator) ----------------------------------------------------------------

def _account_card(doc, today):
    found = patients.card(doc, today) if doc.get("role") == users.PATIENT else {
        "human_id": doc["human_id"], "name": doc.get("name"), "active": doc.get("active", True),
        "date_of_birth": None, "age": None, "sex_label": None}
    return dict(found, role=doc.get("role"), username=doc.get("username"), org_id=doc.get("org_id"))


def find_accounts(db, text):
    """Accounts of any role by id or username (exact) or by name (a prefix of each role's
    keys: one bounded range per role and key)."""
    query = (text or "").strip()
    typed = names.words(query)
    if not typed or sum(len(word) for word in typed) < MIN_LETTERS:
        problem = f"Type an id, a username or at least {MIN_LETTERS} letters of a name."
        raise InvalidInput(problem, {"q": problem})
    docs = {}
    exact = users.by_human_id(db, query) if ACCOUNT_ID_RE.match(query.upper()) \
        else users.by_username(db, query)
    if exact:
        docs[exact["_id"]] = exact
    for role in users.ROLES:
        docs.update((doc["_id"], doc) for doc in _by_name(db, role, typed, ACCOUNT_FIELDS))
    today = clock.now().date()
    return _bounded([_account_card(doc, today) for doc in docs.values()],
                    lambda card: (names.fold(card["name"]), card["human_id"]), LIMIT)


# Keys of documents written before searches by name ---------------------------------------------

def backfill(db):
    """Give every account the name keys it lacks (or that no longer match its name, after a
    change of the key format); the written count. Keys decide nothing, so no MAC changes."""
    written = 0
    for doc in db.users.find({}, {"role": 1, "name": 1, "name_key": 1, "surname_key": 1}):
        wanted = names.name_keys(doc.get("role"), doc.get("name"))
        if any(doc.get(key) != value for key, value in wanted.items()):
            written += authority.set_undeciding(db.users, doc["_id"], wanted)
    db.meta.update_one({"_id": KEYS_MARKER}, {"$set": {"version": KEYS_VERSION,
                                                       "at": clock.now()}}, upsert=True)
    return written


def ensure_keys(db):
    """At start-up: backfill once per key format (afterwards one read of a marker)."""
    marker = db.meta.find_one({"_id": KEYS_MARKER})
    if marker and marker.get("version") == KEYS_VERSION:
        return 0
    return backfill(db)
