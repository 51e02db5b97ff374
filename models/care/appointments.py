"""Appointments (FHIR R4 `Appointment`): one TABLE of transitions decides everything.

Status: proposed → booked → arrived → fulfilled; cancelled, noshow, entered-in-error. Each
participant (patient, doctor) has its own status: needs-action, accepted, declined. Every
action below is a row of TABLE (from which statuses, to which, which party may take it, on
what condition); anything else is a Conflict (409), a party the row does not name is
Forbidden (403), and an appointment that is not yours is simply not found (404).

- Direct booking: the patient picks a free slot with a reason → proposed (patient accepted,
  doctor needs-action); the doctor accepts → booked, or declines with a note → cancelled.
- Request mode (the organization's `booking_mode`): the patient requests with a reason and
  preferred days → proposed without a time; the doctor or the front desk proposes a time
  (holding it) → the patient accepts → booked, or declines → cancelled.
- Either side cancels a future appointment with a reason; the front desk of the doctor's
  organization checks the patient in (arrived); the doctor marks it fulfilled (from arrived)
  or a no-show (from booked, once it has started); doctor or desk mark it entered in error.

No double booking, atomically: the time an appointment covers is held cell by cell
(models.care.holds), released when it is cancelled, declined or entered in error.

Every transition is a compare-and-set on the expected status (models.storage.authority), kept
in the document's history and sealed as `appointment.<action>`: ids, states, times and a hash
of the reason or note, never their text. Booking grants no access to any record.
"""
import hashlib
from dataclasses import dataclass

from models.care import holds, schedules
from models.core import ids
from models.core.clock import as_utc, now_ms, ts
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.people import users
from models.sealing.seam import merge, new_salts, pending_fields, pending_update, seal_pending
from models.storage import authority

PROPOSED, BOOKED, ARRIVED, FULFILLED = "proposed", "booked", "arrived", "fulfilled"
CANCELLED, NOSHOW, ENTERED_IN_ERROR = "cancelled", "noshow", "entered-in-error"
STATUSES = (PROPOSED, BOOKED, ARRIVED, FULFILLED, CANCELLED, NOSHOW, ENTERED_IN_ERROR)
NEEDS_ACTION, ACCEPTED, DECLINED = "needs-action", "accepted", "declined"
PATIENT, DOCTOR, DESK = "patient", "doctor", "desk"
RELEASED = (CANCELLED, ENTERED_IN_ERROR)
"""Statuses whose time is free again."""
MIN_TEXT, MAX_TEXT = 3, 500
MAX_PREFERRED = 200
LIST_LIMIT = 500
DAY_LIMIT = 2000
FUTURE, STARTED = "future", "started"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple
    target: str
    parties: frozenset
    when: str = ""
    """FUTURE: only before the start (if it has one); STARTED: only once it has started."""
    timed: bool | None = None
    """True: only with a time; False: only without one."""
    answers: bool = False
    """The acting party's participant status must be needs-action (an answer to the other)."""
    releases: bool = False
    note: str = ""
    """"required" | "optional": a reason or note (kept in the document, hashed on the chain)."""

    @property
    def kind(self):
        return f"appointment.{self.action}"


TABLE = (
    Transition("requested", (None,), PROPOSED, frozenset({PATIENT}), note="required"),
    Transition("time_proposed", (PROPOSED,), PROPOSED, frozenset({DOCTOR, DESK}), timed=False),
    Transition("accepted", (PROPOSED,), BOOKED, frozenset({PATIENT, DOCTOR}), when=FUTURE,
               timed=True, answers=True),
    Transition("declined", (PROPOSED,), CANCELLED, frozenset({PATIENT, DOCTOR}), answers=True,
               releases=True, note="optional"),
    Transition("cancelled", (PROPOSED, BOOKED), CANCELLED, frozenset({PATIENT, DOCTOR, DESK}),
               when=FUTURE, releases=True, note="required"),
    Transition("arrived", (BOOKED,), ARRIVED, frozenset({DESK})),
    Transition("fulfilled", (ARRIVED,), FULFILLED, frozenset({DOCTOR})),
    Transition("noshow", (BOOKED,), NOSHOW, frozenset({DOCTOR}), when=STARTED),
    Transition("entered_in_error", (PROPOSED, BOOKED, ARRIVED, FULFILLED, NOSHOW, CANCELLED),
               ENTERED_IN_ERROR, frozenset({DOCTOR, DESK}), releases=True, note="required"),
)
BY_ACTION = {row.action: row for row in TABLE}
ACTIONS = tuple(row.action for row in TABLE if row.action not in ("requested", "time_proposed"))
"""The actions taken on an appointment by name (`act`); booking and proposing a time have
their own functions (they need a time)."""
KINDS = tuple(row.kind for row in TABLE)
AUTHORITY = (authority.Protected(
    "appointments", ("appointment_id", "status", "patient_id", "doctor_id", "org_id", "start",
                     "end", "participants"), name=lambda doc: doc.get("appointment_id")),)
INDEXES = {
    "appointments": [
        ([("appointment_id", 1)], {"unique": True}),
        ([("patient_id", 1), ("start", 1)], {}),
        ([("doctor_id", 1), ("start", 1)], {}),
        ([("org_id", 1), ("start", 1)], {}),
    ],
}


# Input rules ----------------------------------------------------------------------------------

def clean_text(value, field, required):
    text = " ".join((value or "").split())
    if not text and not required:
        return ""
    if not MIN_TEXT <= len(text) <= MAX_TEXT:
        problem = f"Write {MIN_TEXT} to {MAX_TEXT} characters."
        raise InvalidInput(problem, {field: problem})
    return text


def note_hash(text):
    return hashlib.sha256(text.encode()).hexdigest() if text else None


# Who is who -----------------------------------------------------------------------------------

def party_of(actor, appt):
    """The party `actor` is in this appointment (patient, doctor, the doctor's front desk)."""
    role = actor.get("role")
    if role == users.PATIENT and appt["patient_id"] == actor.get("human_id"):
        return PATIENT
    if role == users.DOCTOR and appt["doctor_id"] == actor.get("human_id"):
        return DOCTOR
    if role == users.FRONT_DESK and actor.get("org_id") and appt["org_id"] == actor.get("org_id"):
        return DESK
    return None


def get(db, appointment_id):
    """The appointment, if authentic (one changed outside the app decides nothing)."""
    return authority.authentic("appointments", db.appointments.find_one(
        {"appointment_id": str(appointment_id or "").strip().upper()}))


def for_actor(db, actor, appointment_id):
    """(appointment, party) of one of the actor's appointments; anyone else's is not found."""
    appt = get(db, appointment_id)
    party = party_of(actor, appt) if appt else None
    if party is None:
        raise NotFound("There is no such appointment of yours.")
    return appt, party


def bookable_doctor(db, doctor_id):
    """An active, verified doctor of an organization, or NotFound."""
    doctor = schedules.require_doctor(db, doctor_id)
    if (doctor.get("verification") or {}).get("state") != "verified" or not doctor.get("org_id"):
        raise NotFound("There is no such doctor.")
    return doctor


# Holds ----------------------------------------------------------------------------------------

def still_held(db):
    """holds' test of a hold: does its appointment still cover that cell?"""
    def covers(appointment_id, cell):
        appt = get(db, appointment_id)
        return appt is not None and appt.get("status") not in RELEASED and bool(appt.get("start")) \
            and as_utc(appt["start"]) <= cell < as_utc(appt["end"])
    return covers


def holds_complete(db, appt):
    return not appt.get("start") or holds.complete(db, appt["appointment_id"], appt["start"],
                                                   appt["end"])


# Sealed attributes ----------------------------------------------------------------------------

def entry_of(appt, action):
    """The history entry of an action (each happens at most once per appointment)."""
    for entry in reversed(appt.get("history") or []):
        if entry.get("action") == action:
            return entry
    return None


def attributes(appt, entry):
    return {"appointment": appt["appointment_id"], "patient": appt["patient_id"],
            "doctor": appt["doctor_id"], "organization": appt["org_id"],
            "from": entry["from"], "to": entry["to"], "start": ts(entry.get("start")),
            "end": ts(entry.get("end")), "by": entry["by"], "party": entry["party"],
            "at": ts(entry["at"]), "note_sha256": note_hash(entry.get("note") or "")}


def _entry(row, appt_status, actor, party, now, note, start=None, end=None):
    return {"action": row.action, "from": appt_status, "to": row.target,
            "by": actor["human_id"], "party": party, "at": now, "note": note or None,
            "start": start, "end": end}


# Creating -------------------------------------------------------------------------------------

def _create(db, *, patient, doctor, mode, reason, preferred, start=None, end=None, now=None):
    row = BY_ACTION["requested"]
    now = now or now_ms()
    appt = {"appointment_id": ids.next_id(db, "appointment"), "status": PROPOSED,
            "mode": mode, "patient_id": patient["human_id"], "patient_name": patient.get("name"),
            "doctor_id": doctor["human_id"], "doctor_name": doctor.get("name"),
            "org_id": doctor["org_id"], "start": start, "end": end, "reason": reason,
            "preferred_days": preferred or None,
            "participants": {PATIENT: ACCEPTED, DOCTOR: NEEDS_ACTION}, "created_at": now,
            "sealed_height": None, "seals": {}}
    appt["history"] = [_entry(row, None, patient, PATIENT, now, reason, start, end)]
    salts = new_salts(attributes(appt, appt["history"][0]))
    db.appointments.insert_one(authority.stamp("appointments",
                                               pending_fields(appt, row.kind, salts)))
    if start is not None:
        try:
            holds.hold(db, doctor["human_id"], appt["appointment_id"], start, end,
                       still_held(db), now)
        except Conflict:
            db.appointments.delete_one({"_id": appt["_id"], "sealed_height": None})
            raise
    seal_pending(db, row.kind, appt, patient, attributes(appt, appt["history"][0]), salts)
    return appt


def _patient_and_doctor(db, patient, doctor_id, wanted_mode):
    if patient.get("role") != users.PATIENT:
        raise Forbidden("Only patients book appointments.")
    doctor = bookable_doctor(db, doctor_id)
    mode = schedules.booking_mode(db, doctor["org_id"])
    if mode != wanted_mode:
        raise Conflict("This doctor's organization takes requests: ask for an appointment "
                       "instead." if mode == schedules.REQUEST else
                       "This doctor's organization books free slots directly: pick a time.")
    return doctor


def _offered_slot(db, doctor_id, start, zone, now):
    slot = schedules.slot_at(db, doctor_id, start, zone) if start is not None else None
    if slot is None or slot[0] <= now:
        problem = "Choose one of the free times shown."
        raise InvalidInput(problem, {"start": problem})
    return slot


def _checked(errors, check, *args):
    """check(*args), or None with its field messages added to `errors` (all shown at once)."""
    try:
        return check(*args)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
        return None


def book(db, *, patient, doctor_id, start, reason, zone, now=None):
    """Direct mode: the patient books an offered, free slot → proposed (doctor to accept)."""
    now = now or now_ms()
    doctor = _patient_and_doctor(db, patient, doctor_id, schedules.DIRECT)
    errors = {}
    reason = _checked(errors, clean_text, reason, "reason", True)
    slot = _checked(errors, _offered_slot, db, doctor["human_id"], start, zone, now)
    if errors:
        raise InvalidInput("Check the highlighted fields.", errors)
    return _create(db, patient=patient, doctor=doctor, mode=schedules.DIRECT, reason=reason,
                   preferred=None, start=slot[0], end=slot[1], now=now)


def request(db, *, patient, doctor_id, reason, preferred_days=""):
    """Request mode: the patient asks with a reason and preferred days → proposed, no time."""
    doctor = _patient_and_doctor(db, patient, doctor_id, schedules.REQUEST)
    errors = {}
    reason = _checked(errors, clean_text, reason, "reason", True)
    preferred = " ".join((preferred_days or "").split())
    if len(preferred) > MAX_PREFERRED:
        errors["preferred_days"] = f"Use at most {MAX_PREFERRED} characters."
    if errors:
        raise InvalidInput("Check the highlighted fields.", errors)
    return _create(db, patient=patient, doctor=doctor, mode=schedules.REQUEST, reason=reason,
                   preferred=preferred)


# Transitions ----------------------------------------------------------------------------------

def _check(row, appt, party, now):
    """Forbidden for a party the row does not name; Conflict for anything else it forbids."""
    if party not in row.parties:
        raise Forbidden(f"This appointment cannot be {row.action.replace('_', ' ')} by you.")
    if appt["status"] not in row.sources:
        raise Conflict(f"This appointment is {appt['status']}: it cannot be "
                       f"{row.target if row.target != appt['status'] else 'changed so'}.")
    start = appt.get("start")
    if row.timed is True and not start:
        raise Conflict("This appointment has no time yet.")
    if row.timed is False and start:
        raise Conflict("This appointment already has a time.")
    if row.answers and (appt.get("participants") or {}).get(
            PATIENT if party == PATIENT else DOCTOR) != NEEDS_ACTION:
        raise Conflict("There is nothing for you to answer on this appointment.")
    if row.when == FUTURE and start and as_utc(start) <= now:
        raise Conflict("This appointment has already started.")
    if row.when == STARTED and (not start or as_utc(start) > now):
        raise Conflict("This appointment has not started yet.")


def _transition(db, appt, row, actor, party, now, note="", extra=None):
    """The compare-and-set from the status read, with its history entry and pending marker,
    then the block; Conflict if someone changed it first."""
    side = PATIENT if party == PATIENT else DOCTOR
    fields = dict(extra or {}, status=row.target, updated_at=now)
    if row.action == "accepted":
        fields[f"participants.{side}"] = ACCEPTED
    elif row.action == "declined":
        fields[f"participants.{side}"] = DECLINED
    start = fields.get("start", appt.get("start"))
    end = fields.get("end", appt.get("end"))
    entry = _entry(row, appt["status"], actor, party, now, note, start, end)
    salts = new_salts(attributes(appt, entry))
    query = {"_id": appt["_id"], "status": appt["status"], "start": appt.get("start")}
    if row.answers:
        query[f"participants.{side}"] = NEEDS_ACTION
    changed = authority.transition(db.appointments, query, merge(
        {"$set": fields, "$push": {"history": entry}},
        pending_update(row.kind, salts)), current=appt)
    if changed is None:
        raise Conflict("This appointment changed in the meantime: reload the page.")
    if row.releases:
        holds.release(db, changed["appointment_id"])
    seal_pending(db, row.kind, changed, actor, attributes(changed, entry_of(changed, row.action)),
                 salts)
    return changed


def act(db, *, actor, appointment_id, action, note="", now=None):
    """Take one action of the TABLE (not booking, not proposing a time) on an appointment."""
    row = BY_ACTION.get(action)
    if row is None or action not in ACTIONS:
        raise NotFound("There is no such action.")
    appt, party = for_actor(db, actor, appointment_id)
    now = now or now_ms()
    _check(row, appt, party, now)
    if row.note:
        note = clean_text(note, "note", row.note == "required")
    return _transition(db, appt, row, actor, party, now, note)


def propose_time(db, *, actor, appointment_id, start, zone, now=None):
    """Request mode: the doctor or the front desk proposes an offered, free time (held at
    once) → the patient is asked to accept it."""
    row = BY_ACTION["time_proposed"]
    appt, party = for_actor(db, actor, appointment_id)
    now = now or now_ms()
    _check(row, appt, party, now)
    slot = _offered_slot(db, appt["doctor_id"], start, zone, now)
    holds.hold(db, appt["doctor_id"], appt["appointment_id"], slot[0], slot[1], still_held(db),
               now)
    try:
        return _transition(db, appt, row, actor, party, now, extra={
            "start": slot[0], "end": slot[1], f"participants.{DOCTOR}": ACCEPTED,
            f"participants.{PATIENT}": NEEDS_ACTION})
    except Conflict:
        holds.release(db, appt["appointment_id"])
        raise


def allowed_actions(appt, party, now):
    """The TABLE's actions this party may take now (for the page's buttons)."""
    found = []
    for action in ACTIONS:
        try:
            _check(BY_ACTION[action], appt, party, now)
        except (Conflict, Forbidden):
            continue
        found.append(action)
    return found


def may_propose(appt, party, now):
    try:
        _check(BY_ACTION["time_proposed"], appt, party, now)
    except (Conflict, Forbidden):
        return False
    return True


# Lists ----------------------------------------------------------------------------------------

def _by_start(found):
    return sorted(found, key=lambda appt: (appt.get("start") is not None,
                                           appt.get("start") or appt["created_at"]))


def for_patient(db, patient_id):
    """A patient's appointments (bounded), earliest first; requests without a time first."""
    return _by_start(db.appointments.find({"patient_id": patient_id}, limit=LIST_LIMIT))


def for_doctor(db, doctor_id, first, last):
    """A doctor's appointments starting in [first, last) (UTC): one bounded indexed range."""
    return _by_start(db.appointments.find(
        {"doctor_id": doctor_id, "start": {"$gte": first, "$lt": last}}, limit=DAY_LIMIT))


def for_org(db, org_id, first, last):
    return _by_start(db.appointments.find(
        {"org_id": org_id, "start": {"$gte": first, "$lt": last}}, limit=DAY_LIMIT))


def open_requests(db, field, value):
    """Requests still without a time, of a doctor (`doctor_id`) or organization (`org_id`)."""
    return _by_start(appt for appt in db.appointments.find({field: value, "start": None},
                                                           limit=LIST_LIMIT)
                     if appt["status"] == PROPOSED)
