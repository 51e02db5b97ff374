"""Doctors' schedules: published weekly hours, a slot length and leave; the free slots.

A schedule is never edited: each publish inserts the next version (a unique (doctor, version)
index makes two simultaneous publishes one success and one Conflict), protected by an
authority MAC and sealed as `schedule.published` with a hash of its hours and leave. The
current version is the highest one.

Weekly hours are wall-clock times in the installation's zone ("Mon 09:00-12:00"), so a
doctor's morning stays 09:00 across a daylight-saving change; a wall-clock time that does not
exist that day (the hour skipped in spring) offers no slot. Slots are cut from the hours by the
slot length and never cross the end of a period; all times are multiples of five minutes, so
every slot covers whole five-minute cells (the unit `models.care.holds` locks).

The organization's booking mode (`direct` | `request`) is kept here too, versioned and sealed
the same way (`schedule.booking_mode`).
"""
import hashlib
import json
import re
from datetime import date, datetime, time, timedelta, timezone

from pymongo.errors import DuplicateKeyError

from models.care.holds import CELL_MINUTES, cells, held_cells
from models.core.clock import as_utc, now_ms, ts
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.people import organizations, users
from models.sealing import registry
from models.sealing.registry import EventKind
from models.sealing.seam import new_salts, pending_fields, seal_pending
from models.storage import authority

PUBLISHED_KIND = "schedule.published"
MODE_KIND = "schedule.booking_mode"
MIN_SLOT, MAX_SLOT = 10, 120
SLOT_CHOICES = (10, 15, 20, 30, 45, 60, 90, 120)
MAX_PERIODS = 42
MAX_LEAVE = 60
MAX_LEAVE_DAYS = 366
MAX_RANGE_DAYS = 31
VERSION_LIMIT = 1000
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DIRECT, REQUEST = "direct", "request"
BOOKING_MODES = ((DIRECT, "Patients book a free slot directly (the doctor accepts)"),
                 (REQUEST, "Patients only request; the doctor or front desk proposes a time"))

AUTHORITY = (
    authority.Protected("schedules", ("doctor_id", "org_id", "version", "slot_minutes", "hours",
                                      "leave", "published_by"),
                        name=lambda doc: f"{doc.get('doctor_id')} v{doc.get('version')}"),
    authority.Protected("booking_settings", ("org_id", "version", "mode", "set_by"),
                        name=lambda doc: f"{doc.get('org_id')} v{doc.get('version')}"),
)
INDEXES = {
    "schedules": [([("doctor_id", 1), ("version", 1)], {"unique": True})],
    "booking_settings": [([("org_id", 1), ("version", 1)], {"unique": True})],
}

_PERIOD_RE = re.compile(r"^(?P<day>[A-Za-z]{3})[a-z]*\s+(?P<start>\d{1,2}:\d{2})\s*[-–]\s*"
                        r"(?P<end>\d{1,2}:\d{2})$")
_LEAVE_RE = re.compile(r"^(?P<first>\d{4}-\d{2}-\d{2})(?:\s*(?:to|–|-{1,2})\s*"
                       r"(?P<last>\d{4}-\d{2}-\d{2}))?$")


# Input rules ----------------------------------------------------------------------------------

def _minutes(text):
    hours, minutes = (int(part) for part in text.split(":"))
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 24 * 60:
        raise ValueError(text)
    return hours * 60 + minutes


def _clock(minutes):
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_hours(text):
    """[{weekday, start, end}] from lines like "Mon 09:00-12:00"; InvalidInput naming the
    first bad line. Periods of one day may not overlap."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise InvalidInput("Give at least one period.", {"hours": "Give at least one period, e.g. "
                                                                  "Mon 09:00-12:00."})
    if len(lines) > MAX_PERIODS:
        raise InvalidInput("Too many periods.", {"hours": f"Give at most {MAX_PERIODS} periods."})
    periods = []
    for line in lines:
        match = _PERIOD_RE.match(line)
        day = match and match.group("day").title()
        try:
            start, end = (_minutes(match.group("start")), _minutes(match.group("end"))) \
                if match else (None, None)
        except ValueError:
            start = end = None
        if day not in WEEKDAYS or start is None:
            problem = f"Write each period as Mon 09:00-12:00 (not {line[:40]!r})."
            raise InvalidInput(problem, {"hours": problem})
        if start % CELL_MINUTES or end % CELL_MINUTES or end <= start:
            problem = (f"{line[:40]}: start before the end, at times that are multiples of "
                       f"{CELL_MINUTES} minutes.")
            raise InvalidInput(problem, {"hours": problem})
        periods.append({"weekday": WEEKDAYS.index(day), "start": _clock(start), "end": _clock(end)})
    periods.sort(key=lambda period: (period["weekday"], period["start"]))
    for before, after in zip(periods, periods[1:]):
        if before["weekday"] == after["weekday"] and after["start"] < before["end"]:
            problem = (f"{WEEKDAYS[after['weekday']]} {after['start']} overlaps the period "
                       f"ending {before['end']}.")
            raise InvalidInput(problem, {"hours": problem})
    return periods


def parse_leave(text):
    """[{first, last}] (ISO dates, inclusive) from lines "2026-12-24 to 2027-01-02" or one date."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) > MAX_LEAVE:
        raise InvalidInput("Too many leave lines.", {"leave": f"Give at most {MAX_LEAVE} lines."})
    leave = []
    for line in lines:
        match = _LEAVE_RE.match(line)
        try:
            first = date.fromisoformat(match.group("first")) if match else None
            last = date.fromisoformat(match.group("last") or match.group("first")) \
                if match else None
        except ValueError:
            first = last = None
        if first is None:
            problem = f"Write leave as 2026-12-24 to 2027-01-02, or one date (not {line[:40]!r})."
            raise InvalidInput(problem, {"leave": problem})
        if last < first or (last - first).days >= MAX_LEAVE_DAYS:
            problem = f"{line[:40]}: the last day follows the first, within a year."
            raise InvalidInput(problem, {"leave": problem})
        leave.append({"first": first.isoformat(), "last": last.isoformat()})
    return sorted(leave, key=lambda item: item["first"])


def clean_slot_minutes(value):
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        minutes = 0
    if not MIN_SLOT <= minutes <= MAX_SLOT or minutes % CELL_MINUTES:
        problem = (f"Choose a slot of {MIN_SLOT} to {MAX_SLOT} minutes, a multiple of "
                   f"{CELL_MINUTES}.")
        raise InvalidInput(problem, {"slot_minutes": problem})
    return minutes


def hours_text(schedule):
    return "\n".join(f"{WEEKDAYS[p['weekday']]} {p['start']}-{p['end']}"
                     for p in (schedule or {}).get("hours") or [])


def leave_text(schedule):
    return "\n".join(item["first"] if item["first"] == item["last"]
                     else f"{item['first']} to {item['last']}"
                     for item in (schedule or {}).get("leave") or [])


# Who may publish ------------------------------------------------------------------------------

def require_doctor(db, doctor_id):
    """An active doctor (authentic account), or NotFound."""
    doctor = authority.authentic("users", users.by_human_id(db, doctor_id, role=users.DOCTOR))
    if doctor is None or not doctor.get("active", True):
        raise NotFound("There is no such doctor.")
    return doctor


def may_manage(actor, doctor):
    """The doctor themselves, or a manager of the doctor's organization."""
    if actor["role"] == users.DOCTOR:
        return actor["human_id"] == doctor["human_id"]
    return actor["role"] == users.ORG_MANAGER and bool(actor.get("org_id")) \
        and actor.get("org_id") == doctor.get("org_id")


def doctor_for(db, actor, doctor_id):
    doctor = require_doctor(db, doctor_id)
    if not may_manage(actor, doctor):
        raise NotFound("There is no such doctor of yours.")
    return doctor


# Versions -------------------------------------------------------------------------------------

def _latest(collection, field, value, forged=None):
    """The highest version of a versioned, protected document (a short indexed list); if it
    fails its authority check, `forged` (logged)."""
    versions = list(collection.find({field: value}, limit=VERSION_LIMIT))  # one round trip
    if not versions:
        return None
    doc = max(versions, key=lambda version: version["version"])
    return authority.authentic(collection.name, doc) or forged


def current(db, doctor_id):
    """The doctor's current schedule (the highest version, if authentic), or None."""
    return _latest(db.schedules, "doctor_id", doctor_id)


def content_hash(hours, leave):
    body = json.dumps({"hours": hours, "leave": leave}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def schedule_attributes(doc):
    return {"doctor": doc["doctor_id"], "organization": doc.get("org_id"),
            "version": doc["version"], "slot_minutes": doc["slot_minutes"],
            "hours_sha256": content_hash(doc["hours"], doc["leave"]),
            "published_by": doc["published_by"], "published_at": ts(doc["published_at"])}


def _insert_version(db, collection, kind, doc, attributes, actor):
    salts = new_salts(attributes(doc))
    try:
        db[collection].insert_one(authority.stamp(collection, pending_fields(doc, kind, salts)))
    except DuplicateKeyError:
        raise Conflict("Someone published a new version at the same moment; reload and try "
                       "again.") from None
    seal_pending(db, kind, doc, actor, attributes(doc), salts)
    return doc


def publish(db, *, actor, doctor_id, slot_minutes, hours, leave=""):
    """A new schedule version for the doctor, sealed. `hours`/`leave` as typed (text)."""
    doctor = doctor_for(db, actor, doctor_id)
    errors, values = {}, {}
    for name, parse, raw in (("slot_minutes", clean_slot_minutes, slot_minutes),
                             ("hours", parse_hours, hours), ("leave", parse_leave, leave)):
        try:
            values[name] = parse(raw)
        except InvalidInput as exc:
            errors.update(exc.field_errors)
    if errors:
        raise InvalidInput("Check the highlighted fields.", errors)
    short = [f"{WEEKDAYS[p['weekday']]} {p['start']}-{p['end']}" for p in values["hours"]
             if _minutes(p["end"]) - _minutes(p["start"]) < values["slot_minutes"]]
    if short:
        problem = f"{short[0]} is shorter than one slot of {values['slot_minutes']} minutes."
        raise InvalidInput(problem, {"hours": problem})
    previous = _latest(db.schedules, "doctor_id", doctor["human_id"])
    doc = {"doctor_id": doctor["human_id"], "org_id": doctor.get("org_id"),
           "version": (previous["version"] if previous else 0) + 1,
           "slot_minutes": values["slot_minutes"], "hours": values["hours"],
           "leave": values["leave"], "published_by": actor["human_id"],
           "published_at": now_ms(), "sealed_height": None}
    return _insert_version(db, "schedules", PUBLISHED_KIND, doc, schedule_attributes, actor)


# Booking mode ---------------------------------------------------------------------------------

def mode_attributes(doc):
    return {"organization": doc["org_id"], "version": doc["version"], "mode": doc["mode"],
            "set_by": doc["set_by"], "set_at": ts(doc["set_at"])}


def booking_mode(db, org_id):
    """The organization's booking mode (direct until its manager chooses). A setting changed
    outside the app fails closed: requests only, so no time is taken without its staff."""
    doc = _latest(db.booking_settings, "org_id", org_id, forged={"mode": REQUEST}) \
        if org_id else None
    return doc["mode"] if doc else DIRECT


def set_booking_mode(db, *, manager, mode):
    if manager["role"] != users.ORG_MANAGER or not manager.get("org_id"):
        raise Forbidden("Only an organization's manager chooses its booking mode.")
    org = organizations.require(db, manager["org_id"])
    if mode not in dict(BOOKING_MODES):
        problem = "Choose direct booking or requests."
        raise InvalidInput(problem, {"mode": problem})
    previous = _latest(db.booking_settings, "org_id", org["human_id"])
    if previous and previous["mode"] == mode:
        raise Conflict(f"Booking is already {mode}: nothing was changed.")
    doc = {"org_id": org["human_id"], "version": (previous["version"] if previous else 0) + 1,
           "mode": mode, "set_by": manager["human_id"], "set_at": now_ms(),
           "sealed_height": None}
    return _insert_version(db, "booking_settings", MODE_KIND, doc, mode_attributes, manager)


# Slots ----------------------------------------------------------------------------------------

def wall_clock(day, clock_text, zone):
    """The UTC instant of a wall-clock time on a local day, or None if that time does not
    exist there (skipped by a daylight-saving change). An ambiguous time (repeated in autumn)
    is its first occurrence."""
    local = datetime.combine(day, time(0)) + timedelta(minutes=_minutes(clock_text))
    aware = local.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(timezone.utc)
    if instant.astimezone(zone).replace(tzinfo=None) != local:
        return None
    return instant


def on_leave(schedule, day):
    text = day.isoformat()
    return any(item["first"] <= text <= item["last"] for item in schedule.get("leave") or [])


def offered(schedule, first_day, last_day, zone):
    """[(start, end)] UTC of every slot the schedule offers on local days [first, last]."""
    slots = []
    length = timedelta(minutes=schedule["slot_minutes"])
    day = first_day
    while day <= last_day:
        if not on_leave(schedule, day):
            for period in schedule["hours"]:
                if period["weekday"] != day.weekday():
                    continue
                start_minutes, end_minutes = _minutes(period["start"]), _minutes(period["end"])
                minute = start_minutes
                while minute + schedule["slot_minutes"] <= end_minutes:
                    start = wall_clock(day, _clock(minute), zone)
                    if start is not None:
                        slots.append((start, start + length))
                    minute += schedule["slot_minutes"]
        day += timedelta(days=1)
    return slots


def free_slots(db, doctor_id, start, end, zone, now):
    """[(start, end)] UTC of the doctor's free slots on local days [start, end) (dates): the
    current schedule's slots minus leave, past times and held (taken) time."""
    if (end - start).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"Ask for at most {MAX_RANGE_DAYS} days of slots.")
    schedule = current(db, doctor_id)
    if schedule is None or end <= start:
        return []
    slots = [slot for slot in offered(schedule, start, end - timedelta(days=1), zone)
             if slot[0] > now]
    if not slots:
        return []
    taken = held_cells(db, doctor_id, slots[0][0], max(slot[1] for slot in slots))
    return sorted(slot for slot in slots if not any(cell in taken for cell in cells(*slot)))


def slot_at(db, doctor_id, start, zone):
    """The (start, end) slot the doctor's current schedule offers at `start`, or None."""
    schedule = current(db, doctor_id)
    if schedule is None:
        return None
    day = as_utc(start).astimezone(zone).date()
    for slot in offered(schedule, day, day, zone):
        if slot[0] == as_utc(start):
            return slot
    return None


# What the audit rebuilds and reconcile finishes -----------------------------------------------

def _versioned_rebuild(collection, field, subject_key, attributes):
    def rebuild(db, block, data_key, prefetched=None):
        subject = block.get("subject") or {}
        owner, version = subject.get(subject_key), subject.get("version")
        if not isinstance(owner, str) or not isinstance(version, int) or isinstance(version, bool):
            return None
        doc = registry.take(prefetched, block, lambda doc: registry.same(doc.get(field), owner)
                            and registry.same(doc.get("version"), version))
        if doc is None:
            doc = db[collection].find_one({field: owner, "version": version})
        return (attributes(doc), doc.get("seal_salts") or {}) if doc else None
    return rebuild


def _by(field):
    def actor(db, doc):
        return users.by_human_id(db, doc.get(field) or "")
    return actor


def coverage(db):
    for doc in db.schedules.find({}, {"doctor_id": 1, "version": 1, "sealed_height": 1}):
        yield "schedules", f"{doc['doctor_id']} v{doc['version']}", doc.get("sealed_height")
    for doc in db.booking_settings.find({}, {"org_id": 1, "version": 1, "sealed_height": 1}):
        yield "booking_settings", f"{doc['org_id']} v{doc['version']}", doc.get("sealed_height")


def _versioned_event(kind, collection, field, subject_key, attributes, by):
    label = lambda doc: f"{doc[field]} v{doc['version']}"  # noqa: E731
    return EventKind(kind, collection, "sealed_height",
                     _versioned_rebuild(collection, field, subject_key, attributes),
                     creates_document=True,
                     subject=lambda doc: {subject_key: doc[field], "version": doc["version"]},
                     salts_at="seal_salts", actor=_by(by),
                     sealed=lambda db, key, doc: (attributes(doc), doc.get("seal_salts") or {}),
                     label=label)


EVENTS = (
    _versioned_event(PUBLISHED_KIND, "schedules", "doctor_id", "doctor", schedule_attributes,
                     "published_by"),
    _versioned_event(MODE_KIND, "booking_settings", "org_id", "organization", mode_attributes,
                     "set_by"),
)
COVERAGE = (coverage,)
