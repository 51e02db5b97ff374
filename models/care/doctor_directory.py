"""The doctor directory: how patients and staff reach a verified doctor at work.

An entry holds what the account does not: the doctor's department, work contact (phone,
extension, e-mail) and weekly on-call hours. Name, specialty and organization come from the
account (models.people), so they are never copied here. Nothing clinical, nothing about
patients.

Entries are versioned, never edited in place: each change inserts version n + 1 (a unique
index on doctor and version stops two edits made at the same moment) and seals it as
`directory.updated` with the doctor, the version, the time and a SHA-256 of the entry's
fields, so an edit made directly in MongoDB shows up in the audit. The previous version is
then marked `superseded_by` (an index hint only: the current entry is the highest version not
superseded, so a crash between the two writes loses nothing).

On-call hours are weekly windows in wall-clock time of the installation's zone (weekday, start,
end; an end at or before the start runs into the next day). "On call now" turns the current
UTC instant into that zone's wall clock first, so it stays right across a change of daylight
saving time.

Entries decide nothing (no one gains or loses a right by them), so they carry no authority
MAC (models.storage.authority): the sealed hash is what shows an edit made outside the app.

A doctor edits their own entry; their organization's manager edits it for them. Searches reuse
models.people.directory's bounded searches (a prefix range on name keys, equality on specialty
or organization, at most a few hundred candidates, sorted here).
"""
import hashlib
import json
import re
from datetime import datetime, timezone

import pymongo

from models.core import clock, names, specialties
from models.core.clock import now_ms, ts
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.people import directory, organizations, users
from models.sealing import registry
from models.sealing.registry import EventKind
from models.sealing.seam import new_salts, pending_fields, seal_pending
from models.storage import authority

COLLECTION = "directory_entries"
UPDATED = "directory.updated"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_WINDOWS = 8
MAX_DEPARTMENT = 80
MAX_NAME = 120
MAX_EMAIL = 254
PHONE_DIGITS = (4, 20)
LIMIT = directory.LIMIT
MIN_LETTERS = directory.MIN_LETTERS
IN_CHUNK = registry.IN_CHUNK
HISTORY_LIMIT = 200
CURRENT_PER_DOCTOR = 4
"""Versions not yet marked superseded a doctor may have (normally one; one more for each
edit a crash cut between its insert and the mark)."""
FIELDS = ("department", "phone", "extension", "email", "on_call")
"""The entry's own fields: what the sealed hash covers."""
SHOWN = {"seal_salts": 0}
"""What pages read of a version: everything but the salts of its block."""
TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$", re.ASCII)
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]+$")
EXTENSION_RE = re.compile(r"^\d{1,6}$", re.ASCII)
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")

INDEXES = {
    COLLECTION: [
        ([("doctor_id", 1), ("version", 1)], {"unique": True}),
    ],
}


# Input ---------------------------------------------------------------------------------------

def _text(value):
    return value.strip() if isinstance(value, str) else ""


def _printable(text):
    return all(ch.isprintable() for ch in text)


def clean_window(day, start, end):
    """(window or None for a blank row, {part: message})."""
    day, start, end = _text(day), _text(start), _text(end)
    if not (day or start or end):
        return None, {}
    errors = {}
    if day not in [str(number) for number in range(7)]:
        errors["day"] = "Choose the weekday."
    for part, value in (("start", start), ("end", end)):
        if not TIME_RE.match(value):
            errors[part] = "Enter a time as HH:MM (00:00 to 23:59)."
    if not errors and start == end:
        errors["end"] = "The end must differ from the start (22:00 to 06:00 ends the next day)."
    if errors:
        return None, errors
    return {"day": int(day), "start": start, "end": end}, errors


def clean(raw):
    """The entry's fields from a form's values, or InvalidInput naming every bad field.

    `raw` holds department, phone, extension, email and `windows`: [(day, start, end)] as typed
    (day "0" is Monday); blank rows are left out.
    """
    errors = {}
    department = " ".join(_text(raw.get("department")).split())
    if len(department) > MAX_DEPARTMENT or not _printable(department):
        errors["department"] = f"Use at most {MAX_DEPARTMENT} printable characters."
    phone = " ".join(_text(raw.get("phone")).split())
    digits = sum(ch.isdigit() for ch in phone)
    if phone and (not PHONE_RE.match(phone) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]
                  or "+" in phone[1:]):
        errors["phone"] = (f"Enter a phone number of {PHONE_DIGITS[0]} to {PHONE_DIGITS[1]} digits "
                           "(a leading +, spaces, dashes and brackets are fine).")
    extension = _text(raw.get("extension"))
    if extension and not EXTENSION_RE.match(extension):
        errors["extension"] = "Enter the extension as 1 to 6 digits."
    email = _text(raw.get("email"))
    if email and (len(email) > MAX_EMAIL or not EMAIL_RE.match(email)):
        errors["email"] = "Enter a work e-mail address such as name@hospital.example."
    email = email.lower()
    rows = list(raw.get("windows") or [])
    if len(rows) > MAX_WINDOWS:
        errors["windows"] = f"Give at most {MAX_WINDOWS} on-call windows."
    windows = []
    for number, row in enumerate(rows[:MAX_WINDOWS], start=1):
        row = tuple(row) if isinstance(row, (list, tuple)) else ()
        window, problems = clean_window(*(row + ("", "", ""))[:3])
        for part, message in problems.items():
            errors[f"{part}_{number}"] = message
        if window:
            windows.append(window)
    if errors:
        raise InvalidInput("Check the highlighted fields.", errors)
    unique = {(window["day"], window["start"], window["end"]): window for window in windows}
    on_call = [unique[key] for key in sorted(unique)]
    return {"department": department, "phone": phone, "extension": extension, "email": email,
            "on_call": on_call}


# On call -------------------------------------------------------------------------------------

def _minutes(text):
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def in_window(window, weekday, minute):
    """Whether a local wall-clock moment (weekday 0 = Monday, minute of the day) falls in the
    window; one whose end is at or before its start runs past midnight into the next day."""
    start, end = _minutes(window["start"]), _minutes(window["end"])
    if start < end:
        return weekday == window["day"] and start <= minute < end
    return (weekday == window["day"] and minute >= start) or \
        (weekday == (window["day"] + 1) % 7 and minute < end)


def on_call_at(entry, moment, zone):
    """Whether the entry's doctor is on call at `moment` (an aware instant), read as wall-clock
    time in `zone` (the installation's ZoneInfo; UTC when none is given)."""
    if not entry:
        return False
    local = moment.astimezone(zone or timezone.utc)
    minute = local.hour * 60 + local.minute
    return any(in_window(window, local.weekday(), minute) for window in entry.get("on_call") or [])


def window_rows(entry):
    """The on-call windows as people read them: (weekday, start, end, overnight)."""
    return [(WEEKDAYS[window["day"]], window["start"], window["end"],
             _minutes(window["end"]) <= _minutes(window["start"]))
            for window in (entry or {}).get("on_call") or []]


# Reading -------------------------------------------------------------------------------------

def current_entries(db, doctor_ids):
    """{doctor id: current entry} (the highest version not superseded), in short queries."""
    wanted = sorted({doctor for doctor in doctor_ids if isinstance(doctor, str)})
    found = {}
    for begin in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[begin:begin + IN_CHUNK]
        for doc in db[COLLECTION].find({"doctor_id": {"$in": chunk}, "superseded_by": None},
                                       SHOWN, limit=CURRENT_PER_DOCTOR * len(chunk)):
            held = found.get(doc["doctor_id"])
            if held is None or doc["version"] > held["version"]:
                found[doc["doctor_id"]] = doc
    return found


def current_entry(db, doctor_id):
    return current_entries(db, [doctor_id]).get(doctor_id)


def versions(db, doctor_id):
    """Every version of a doctor's entry, newest first (bounded)."""
    found = db[COLLECTION].find({"doctor_id": doctor_id}, SHOWN, limit=HISTORY_LIMIT)
    return sorted(found, key=lambda doc: doc["version"], reverse=True)


def listed_doctor(db, human_id):
    """The card of a verified, active doctor (name, specialty, organization), or NotFound."""
    text = (human_id or "").strip().upper()
    if not text.startswith("DOC-"):
        raise NotFound("There is no such doctor in the directory.")
    try:
        return directory.grantee_card(db, text)
    except NotFound:
        raise NotFound("There is no such doctor in the directory.") from None


def _organization_kinds(db, cards):
    orgs = organizations.by_human_ids(db, [card.get("org_id") for card in cards])
    return {key: organizations.KIND_LABELS.get(org.get("kind"), "") for key, org in orgs.items()
            if org.get("active", True)}


def page_of(db, human_id, now=None, zone=None):
    """What a doctor's directory page shows: card, organization kind, entry, on call now."""
    card = listed_doctor(db, human_id)
    kinds = _organization_kinds(db, [card])
    if card.get("org_id") not in kinds:  # as in a search: a disabled organization's doctors
        raise NotFound("There is no such doctor in the directory.")
    entry = current_entry(db, card["human_id"])
    return _listing(card, kinds, entry, now or clock.now(), zone)


def _listing(card, kinds, entry, now, zone):
    return dict(card, organization_kind=kinds.get(card.get("org_id"), ""),
                entry=entry, windows=window_rows(entry),
                on_call_now=on_call_at(entry, now, zone))


# Searching -----------------------------------------------------------------------------------

class Found:
    """At most LIMIT listings; `more` when others matched too."""

    def __init__(self, items, more=False):
        self.items, self.more = items, more


def search(db, *, name="", specialty="", org_id="", on_call_only=False, now=None, zone=None):
    """Verified, active doctors by name, specialty and organization (any combination; at
    least one), each with their entry and whether they are on call now."""
    typed = names.words(name)
    specialty = specialty or ""
    org_id = (org_id or "").strip().upper()
    errors = {}
    if typed and sum(len(word) for word in typed) < MIN_LETTERS:
        errors["name"] = f"Type at least {MIN_LETTERS} letters of the name."
    elif len(name or "") > MAX_NAME:
        errors["name"] = f"Type at most {MAX_NAME} characters of the name."
    if specialty and specialty not in specialties.LABELS:
        errors["specialty"] = "Choose a specialty from the list."
    if not errors and not (typed or specialty or org_id):
        errors["name"] = "Type a name, or choose a specialty or an organization."
    if errors:
        raise InvalidInput(next(iter(errors.values())), errors)
    if typed or specialty:
        cards = directory.find_doctors(db, " ".join(typed), specialty or None)
        if typed and not specialty:  # the name box finds names, not specialties
            cards = [card for card in cards if names.matches(typed, card["name"])]
        if org_id:
            cards = [card for card in cards if card.get("org_id") == org_id]
    else:
        cards = directory.find_doctors_of(db, org_id)
    kinds = _organization_kinds(db, cards)
    cards = sorted((card for card in cards if card.get("org_id") in kinds),
                   key=lambda card: (names.fold(card["name"]), card["human_id"]))
    now = now or clock.now()
    # the on-call filter reads every candidate's entry (at most a few hundred), else only the shown
    wanted = cards if on_call_only else cards[:LIMIT]
    entries = current_entries(db, [card["human_id"] for card in wanted])
    if on_call_only:
        cards = [card for card in cards if on_call_at(entries.get(card["human_id"]), now, zone)]
    shown, more = cards[:LIMIT], len(cards) > LIMIT
    return Found([_listing(card, kinds, entries.get(card["human_id"]), now, zone)
                  for card in shown], more)


def organization_choices(db):
    """(id, name) of the active organizations that employ doctors, by name."""
    return sorted(((org["human_id"], org["name"]) for org in organizations.list_all(db)
                   if org.get("active", True)
                   and users.DOCTOR in organizations.member_roles(org)),
                  key=lambda pair: (names.fold(pair[1]), pair[0]))


# Editing -------------------------------------------------------------------------------------

def editable_doctor(db, editor, human_id):
    """The doctor whose entry `editor` may change: themselves (a doctor) or one of their
    organization's doctors (its manager). NotFound for no such doctor, Forbidden otherwise."""
    doctor = authority.authentic("users", users.by_human_id(db, human_id or "", role=users.DOCTOR))
    if doctor is None:
        raise NotFound("There is no such doctor.")
    role = editor.get("role")
    if role == users.DOCTOR and editor.get("human_id") == doctor["human_id"]:
        return doctor
    if role == users.ORG_MANAGER and editor.get("org_id") \
            and editor.get("org_id") == doctor.get("org_id"):
        return doctor
    if role == users.DOCTOR:
        raise Forbidden("A doctor changes only their own directory entry.")
    if role == users.ORG_MANAGER:
        raise Forbidden("You manage the directory entries of your own organization's doctors only.")
    raise Forbidden("Only the doctor or their organization's manager changes a directory entry.")


def fields_hash(doc):
    """SHA-256 of the entry's own fields in a canonical form (what the block seals)."""
    fields = {name: doc.get(name) for name in FIELDS}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode()).hexdigest()


def sealed_attributes(doc):
    created = doc.get("created_at")
    return {"doctor": doc.get("doctor_id"), "version": doc.get("version"),
            "fields_sha256": fields_hash(doc),
            "at": ts(created) if isinstance(created, datetime) else created}


def update(db, *, editor, human_id, raw):
    """A new version of the doctor's entry, sealed as `directory.updated`; nothing is written
    when the input or the editor is refused."""
    doctor = editable_doctor(db, editor, human_id)
    values = clean(raw)
    current = current_entry(db, doctor["human_id"])
    version = (current["version"] if current else 0) + 1
    doc = dict(values, doctor_id=doctor["human_id"], org_id=doctor.get("org_id"), version=version,
               supersedes=current["version"] if current else None, superseded_by=None,
               created_at=now_ms(), by=editor["human_id"], by_role=editor["role"],
               sealed_height=None)
    attributes = sealed_attributes(doc)
    salts = new_salts(attributes)
    pending_fields(doc, UPDATED, salts)
    try:
        db[COLLECTION].insert_one(doc)
    except pymongo.errors.DuplicateKeyError:
        raise Conflict("This entry was changed by someone else at the same moment. "
                       "Reload it and try again.") from None
    seal_pending(db, UPDATED, doc, editor, attributes, salts)
    db[COLLECTION].update_many({"doctor_id": doc["doctor_id"], "superseded_by": None,
                                "version": {"$lt": version}}, {"$set": {"superseded_by": version}})
    return doc


# What the audit rebuilds, and what reconcile finishes ------------------------------------------

def subject(doc):
    return {"doctor": doc["doctor_id"], "version": doc["version"]}


def label(doc):
    return f"{doc.get('doctor_id')} directory v{doc.get('version')}"


def rebuild_updated(db, block, data_key, prefetched=None):
    """The version the block's subject names, if it still exists, as it is now."""
    named = block.get("subject") or {}
    doctor, version = named.get("doctor"), named.get("version")
    if not isinstance(doctor, str) or not isinstance(version, int) or isinstance(version, bool):
        return None
    doc = registry.take(prefetched, block, lambda doc: registry.same(doc.get("doctor_id"), doctor)
                        and registry.same(doc.get("version"), version))
    if doc is None:
        doc = db[COLLECTION].find_one({"doctor_id": doctor, "version": version})
    if doc is None:
        return None
    return sealed_attributes(doc), doc.get("seal_salts") or {}


def coverage(db):
    """Every version of every entry must be sealed."""
    for doc in db[COLLECTION].find({}, {"doctor_id": 1, "version": 1, "sealed_height": 1}):
        yield COLLECTION, label(doc), doc.get("sealed_height")


def _editor(db, doc):
    return users.by_human_id(db, doc.get("by") or "")


EVENTS = (EventKind(UPDATED, COLLECTION, "sealed_height", rebuild_updated, creates_document=True,
                    subject=subject, salts_at="seal_salts", actor=_editor,
                    sealed=lambda db, key, doc: (sealed_attributes(doc),
                                                 doc.get("seal_salts") or {}),
                    label=label),)
COVERAGE = (coverage,)
