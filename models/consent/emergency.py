"""Break-glass emergency access: a verified doctor, their password again, a reason, a time limit.

An emergency lets one doctor read one patient's records (read-only: it gives no right to
amend) for `EMERGENCY_MINUTES`. It is sealed as `emergency.access`, shown to the patient, and
waits in the auditor's queue (`pending-review`) until an auditor marks it justified or not
(`emergency.reviewed`).

A doctor holds at most one open emergency per patient, even when two opens race: each case
takes the next `turn` of its (doctor, patient) pair under a unique index, so of two opens that
read the same history one inserts and the other gets a Conflict (409).
"""
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from models.core import ids
from models.core.clock import now_ms, ts
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.people import users
from models.people.patients import require_patient
from models.storage import authority
from models.sealing import pages, registry
from models.sealing.registry import EventKind
from models.sealing.seam import (is_pending, merge, new_salts, pending_fields, pending_update,
                                 seal_pending)

OPENED_KIND, REVIEWED_KIND = "emergency.access", "emergency.reviewed"
PENDING_REVIEW, JUSTIFIED, UNJUSTIFIED = "pending-review", "justified", "unjustified"
MIN_REASON, MAX_REASON = 10, 500
MAX_NOTE = 1000
LIST_LIMIT = 500
ALREADY_OPEN = "You already have emergency access to this patient."

AUTHORITY = (authority.Protected(
    "emergencies", ("emergency_id", "doctor_id", "patient_id", "org_id", "opened_at", "ends_at",
                    "review_state"), name=lambda case: case.get("emergency_id")),)

INDEXES = {
    "emergencies": [
        ([("emergency_id", 1)], {"unique": True}),
        ([("patient_id", 1)], {}),
        ([("doctor_id", 1)], {}),
        ([("review_state", 1)], {}),
        ([("turn", 1)], {"unique": True, "sparse": True}),
    ],
}


def opened_attributes(case):
    return {"doctor": case["doctor_id"], "organization": case["org_id"],
            "patient": case["patient_id"], "reason": case["reason"],
            "opened_at": ts(case["opened_at"]), "ends_at": ts(case["ends_at"])}


def reviewed_attributes(case):
    review = case.get("review") or {}
    return {"review_state": case["review_state"], "reviewer": review.get("by"),
            "justified": review.get("justified"), "note": review.get("note"),
            "reviewed_at": ts(review.get("at"))}


def open_for(db, doctor_id, patient_id, now):
    """The doctor's emergencies on this patient that are open now."""
    found = db.emergencies.find({"patient_id": patient_id}, limit=LIST_LIMIT)  # one field: cheaper
    return _open_among(found, doctor_id, now)


def _open_among(cases, doctor_id, now):
    return [case for case in cases  # authentic before its window is compared: an edited
            if case.get("doctor_id") == doctor_id  # window may hold any shape
            and authority.authentic("emergencies", case) is not None
            and case["opened_at"] <= now < case["ends_at"]]


def _next_turn(cases, doctor_id, patient_id):
    """"<doctor>/<patient>/<n>": one past the pair's latest turn in `cases`."""
    taken = [int(case["turn"].rsplit("/", 1)[1]) for case in cases
             if case["doctor_id"] == doctor_id and isinstance(case.get("turn"), str)]
    return f"{doctor_id}/{patient_id}/{max(taken, default=0) + 1}"


def open_emergency(db, *, doctor, patient_id, password, reason, minutes, now=None):
    """Open break-glass access after the doctor re-entered their password and said why."""
    if doctor["role"] != users.DOCTOR or doctor["verification"]["state"] != "verified" \
            or is_pending(doctor):
        raise Forbidden("Only verified doctors may open emergency access.")
    patient = require_patient(db, patient_id)
    errors = {}
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON:
        errors["reason"] = f"Describe the emergency (at least {MIN_REASON} characters)."
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"Use at most {MAX_REASON} characters."
    fresh = db.users.find_one({"_id": doctor["_id"]})
    if not password or not users.check_password(fresh, password):
        errors["password"] = "That is not your password."
    if errors:
        error = Forbidden if set(errors) == {"password"} else InvalidInput
        raise error("Check the highlighted fields.", errors)
    now = now or now_ms()
    # One read for the check and the turn: an open that reads after another's insert sees it
    # open; two that read before either insert take the same turn, and the index keeps one.
    history = list(db.emergencies.find({"patient_id": patient["human_id"]}))
    if _open_among(history, doctor["human_id"], now):
        raise Conflict(ALREADY_OPEN)
    case = {
        "emergency_id": ids.next_id(db, "emergency"), "doctor_id": doctor["human_id"],
        "doctor_name": doctor["name"], "org_id": doctor.get("org_id"),
        "patient_id": patient["human_id"], "reason": reason, "opened_at": now,
        "ends_at": now + timedelta(minutes=int(minutes)), "review_state": PENDING_REVIEW,
        "review": None, "sealed_height": None, "seals": {},
        "turn": _next_turn(history, doctor["human_id"], patient["human_id"]),
    }
    salts = new_salts(opened_attributes(case))
    try:
        db.emergencies.insert_one(authority.stamp("emergencies",
                                                  pending_fields(case, OPENED_KIND, salts)))
    except DuplicateKeyError:
        raise Conflict(ALREADY_OPEN) from None
    seal_pending(db, OPENED_KIND, case, doctor, opened_attributes(case), salts)
    return case


def opened_key(case, field="opened_at"):
    """Sort key by a moment of the case; an edited one (any shape) sorts as the earliest."""
    moment = case.get(field) if isinstance(case, dict) else None
    return moment.timestamp() if isinstance(moment, datetime) else float("-inf")


def for_patient(db, patient_id):
    found = db.emergencies.find({"patient_id": patient_id}, limit=LIST_LIMIT)
    return sorted(found, key=opened_key, reverse=True)


def page(db, *, before=None, **owner):
    """One keyset page of emergency accesses, newest first, of a `patient_id` or a
    `doctor_id`."""
    (field, value), = owner.items()
    if field not in ("patient_id", "doctor_id"):
        raise ValueError(f"emergencies are not listed by {field}")
    return pages.newest_first(db, "emergencies", {field: value}, before=before)


def pending_review(db, limit=LIST_LIMIT):
    """The auditor's queue, oldest first."""
    found = db.emergencies.find({"review_state": PENDING_REVIEW}, limit=limit)
    return sorted(found, key=opened_key)


def get(db, emergency_id):
    return authority.authentic("emergencies", db.emergencies.find_one(
        {"emergency_id": (emergency_id or "").strip().upper()}))


def is_open(case, now):
    """Whether the emergency's window still runs: reads may still be made under it."""
    ends = case.get("ends_at")
    return isinstance(ends, datetime) and now < ends  # an edited end opens nothing


def review(db, emergency_id, auditor, justified: bool, note, now=None):
    """pending-review → justified | unjustified in one atomic conditional update, sealed as
    `emergency.reviewed`. Only once the window has closed: a verdict given earlier would
    judge reads not yet made, and reads made after it would never be reviewed."""
    if auditor["role"] != users.AUDITOR:
        raise Forbidden("Only auditors review emergency accesses.")
    note = " ".join((note or "").split()) or None
    if note and len(note) > MAX_NOTE:
        problem = f"Use at most {MAX_NOTE} characters."
        raise InvalidInput(problem, {"note": problem})
    case = get(db, emergency_id)
    if case is None:
        raise NotFound("There is no such emergency access.")
    now = now or now_ms()
    if is_open(case, now):
        raise Conflict(f"This emergency access is still open until {case['ends_at']:%Y-%m-%d %H:%M} "
                       "UTC: it can be reviewed once its window has closed, so that every read "
                       "made under it is part of the review.")
    state = JUSTIFIED if justified else UNJUSTIFIED
    salts = new_salts(reviewed_attributes(case))
    reviewed = authority.transition(
        db.emergencies, {"_id": case["_id"], "review_state": PENDING_REVIEW},
        merge({"$set": {"review_state": state, "review": {
            "by": auditor["human_id"], "justified": bool(justified), "note": note,
            "at": now}}}, pending_update(REVIEWED_KIND, salts)))
    if reviewed is None:
        raise Conflict("This emergency access was already reviewed.")
    seal_pending(db, REVIEWED_KIND, reviewed, auditor, reviewed_attributes(reviewed), salts)
    return reviewed


def _named_case(db, block, prefetched):
    """The emergency the block's subject names (prefetched, or one lookup), or None."""
    emergency_id = (block.get("subject") or {}).get("emergency")
    if not isinstance(emergency_id, str):
        return None
    case = registry.take(prefetched, block,
                         lambda case: registry.same(case.get("emergency_id"), emergency_id))
    return case if case is not None else db.emergencies.find_one({"emergency_id": emergency_id})


def rebuild_opened(db, block, data_key, prefetched=None):
    case = _named_case(db, block, prefetched)
    if case is None:
        return None
    return opened_attributes(case), _salts_of(case, "opened")


def rebuild_reviewed(db, block, data_key, prefetched=None):
    case = _named_case(db, block, prefetched)
    if case is None:
        return None
    return reviewed_attributes(case), _salts_of(case, "reviewed")


def emergency_coverage(db):
    for case in db.emergencies.find({}, {"emergency_id": 1, "review_state": 1, "sealed_height": 1,
                                         "seals": 1}):
        yield "emergencies", case["emergency_id"], case.get("sealed_height")
        if case.get("review_state") in (JUSTIFIED, UNJUSTIFIED):
            height = registry.field_of(case, "seals.reviewed.height")
            yield "emergencies", f"{case['emergency_id']} reviewed", height



def _subject(case):
    return {"emergency": case["emergency_id"]}


def _doctor(db, case):
    return users.by_human_id(db, case["doctor_id"])


def _reviewer(db, case):
    return users.by_human_id(db, (case.get("review") or {}).get("by") or "")


def _salts_of(case, event):
    return ((case.get("seals") or {}).get(event) or {}).get("salts", {})


EVENTS = (
    EventKind(OPENED_KIND, "emergencies", "sealed_height", rebuild_opened,
              creates_document=True, subject=_subject, salts_at="seals.opened.salts",
              also_at=("seals.opened.height",), actor=_doctor,
              sealed=lambda db, key, case: (opened_attributes(case), _salts_of(case, "opened"))),
    EventKind(REVIEWED_KIND, "emergencies", "seals.reviewed.height", rebuild_reviewed,
              subject=_subject, salts_at="seals.reviewed.salts", actor=_reviewer,
              label=lambda case: f"{case['emergency_id']} reviewed",
              sealed=lambda db, key, case: (reviewed_attributes(case),
                                            _salts_of(case, "reviewed"))),
)
COVERAGE = (emergency_coverage,)
