"""Access requests and grants: the patient-controlled consent state machine.

Request: `pending` → `approved` | `rejected` | `cancelled`. An approval creates a grant, which
then moves `approved` → `revoked` | `expired` | `used` (one-time grants). A patient may also
grant without a request. Every transition is ONE atomic conditional update on the expected
current state (models.core.transitions), followed by its ledger block; a second decision on the
same request finds no document in the expected state and gets a Conflict (409), never a second grant.

Expiry needs no background job: whoever meets an approved grant past its end (an access
decision, a listing) moves it to `expired` and seals `access.expired`; only the one update
that wins seals it. The salts of each event are kept on the document (`seals.<event>`), so the
audit can rebuild every sealed attribute from the current state.
"""
from datetime import timedelta

import pymongo

from models.core import ids, record_types
from models.core.clock import now_ms, ts
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.people import organizations, users
from models.people.patients import require_patient
from models.sealing import pages, registry
from models.sealing.registry import EventKind
from models.sealing.seam import (is_pending, merge, new_salts, pending_fields, pending_update,
                                 seal_pending)
from models.storage import authority

PENDING, APPROVED, REJECTED, CANCELLED = "pending", "approved", "rejected", "cancelled"
REVOKED, EXPIRED, USED = "revoked", "expired", "used"
ALL, TYPES, RECORDS = "all", "types", "records"
SCOPE_KINDS = ((ALL, "All record types"), (TYPES, "Chosen record types"),
               (RECORDS, "Named records"))
PURPOSES = (("treatment", "Treatment"), ("emergency", "Emergency"), ("payment", "Payment"),
            ("research", "Research"), ("patient_request", "Patient request"))
DURATIONS = ((1, "1 day"), (7, "1 week"), (30, "30 days"), (90, "90 days"), (180, "180 days"),
             (365, "1 year"))
MAX_DAYS = 365
MAX_MESSAGE_LENGTH = 1000
MAX_NAMED_RECORDS = 50
DOCTOR_GRANTEE, ORG_GRANTEE = "doctor", "organization"
LIST_LIMIT = 500

REQUESTED, REJECTED_KIND, CANCELLED_KIND = "access.requested", "access.rejected", "access.cancelled"
APPROVED_KIND, GRANTED_KIND = "access.approved", "access.granted"
REVOKED_KIND, EXPIRED_KIND, USED_KIND = "access.revoked", "access.expired", "access.used"

AUTHORITY = (
    authority.Protected("access_requests", (
        "request_id", "patient_id", "requester_kind", "requester_id", "requester_org",
        "requested_by", "scope", "purpose", "duration_days", "one_time", "state", "grant_id"),
        name=lambda req: req.get("request_id")),
    authority.Protected("grants", (
        "grant_id", "patient_id", "grantee_kind", "grantee_id", "grantee_org", "scope",
        "purpose", "valid_from", "valid_until", "one_time", "state", "request_id",
        "granted_by", "used_record"), name=lambda grant: grant.get("grant_id")),
)
"""Fields that decide who may read what: MAC'd, checked by every decision that reads them."""

INDEXES = {
    "access_requests": [
        ([("request_id", 1)], {"unique": True}),
        ([("patient_id", 1)], {}),
        ([("requested_by", 1)], {}),
        ([("requester_id", 1)], {}),
    ],
    "grants": [
        ([("grant_id", 1)], {"unique": True}),
        ([("patient_id", 1)], {}),
        ([("grantee_id", 1)], {}),
    ],
}
"""The sealing heights' indexes come from the registry (EVENTS, at the end)."""


# Input rules ----------------------------------------------------------------------------------

def clean_scope(db, patient_id, kind, type_names=(), record_text=""):
    """A scope dict: {"kind": all} | {"kind": types, "types": [...]} | {"kind": records, ...}."""
    if kind == ALL:
        return {"kind": ALL}
    if kind == TYPES:
        chosen = sorted(set(type_names or ()))
        if not chosen:
            problem = "Choose at least one record type."
            raise InvalidInput(problem, {"types": problem})
        unknown = [name for name in chosen if name not in record_types.TYPES]
        if unknown:
            raise InvalidInput("Unknown record type.", {"types": "Choose from the listed record types."})
        return {"kind": TYPES, "types": chosen}
    if kind == RECORDS:
        try:
            named = ids.parse_record_ids(record_text)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, {"records": exc.message}) from None
        if not named:
            problem = "Name at least one record (e.g. PAT-000234-R12)."
            raise InvalidInput(problem, {"records": problem})
        if len(named) > MAX_NAMED_RECORDS:
            problem = f"Name at most {MAX_NAMED_RECORDS} records."
            raise InvalidInput(problem, {"records": problem})
        found = {doc["record_id"] for doc in db.records.find(
            {"record_id": {"$in": named}, "patient_id": patient_id}, {"record_id": 1})}
        missing = [name for name in named if name not in found]
        if missing:
            problem = f"{missing[0]} is not one of this patient's records."
            raise InvalidInput(problem, {"records": problem})
        return {"kind": RECORDS, "records": named}
    raise InvalidInput("Choose what the access covers.", {"scope": "Choose what the access covers."})


def scope_covers(scope, record):
    """Whether a scope includes a record version (named records include all their versions)."""
    if scope["kind"] == ALL:
        return True
    if scope["kind"] == TYPES:
        return record["type"] in scope["types"]
    return record["record_id"] in scope["records"]


def scope_covers_type(scope, type_name):
    return scope["kind"] == ALL or (scope["kind"] == TYPES and type_name in scope["types"])


def is_within(narrow, wide, named_types=None):
    """Whether `narrow` asks for no more than `wide` (named records checked by their types)."""
    if wide["kind"] == ALL:
        return True
    if wide["kind"] == TYPES:
        if narrow["kind"] == TYPES:
            return set(narrow["types"]) <= set(wide["types"])
        if narrow["kind"] == RECORDS:
            return all((named_types or {}).get(name) in wide["types"] for name in narrow["records"])
        return False
    return narrow["kind"] == RECORDS and set(narrow["records"]) <= set(wide["records"])


def describe_scope(scope):
    if scope["kind"] == ALL:
        return "All record types"
    if scope["kind"] == TYPES:
        return ", ".join(record_types.TYPE_LABELS.get(name, name) for name in scope["types"])
    return "Records " + ", ".join(scope["records"])


def clean_terms(purpose, duration_days, one_time, message):
    errors = {}
    if purpose not in dict(PURPOSES):
        errors["purpose"] = "Choose a purpose from the list."
    try:
        days = int(duration_days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_DAYS:
        errors["duration_days"] = f"Choose a duration between 1 and {MAX_DAYS} days."
    text = (message or "").strip()
    if len(text) > MAX_MESSAGE_LENGTH:
        errors["message"] = f"Use at most {MAX_MESSAGE_LENGTH} characters."
    if errors:
        raise InvalidInput("Check the highlighted fields.", errors)
    return purpose, days, bool(one_time), text


# Sealed attributes -----------------------------------------------------------------------------

def request_attributes(req):
    return {
        "requester_kind": req["requester_kind"], "requester": req["requester_id"],
        "requester_org": req["requester_org"], "requested_by": req["requested_by"],
        "patient": req["patient_id"], "scope": req["scope"], "purpose": req["purpose"],
        "duration_days": req["duration_days"], "one_time": req["one_time"],
        "message": req["message"], "created_at": ts(req["created_at"]),
    }


def decision_attributes(req):
    """A rejection or cancellation: the state it left the request in, who and when."""
    return {"state": req["state"], "decided_by": req.get("decided_by"),
            "decided_at": ts(req.get("decided_at")), "note": req.get("decision_note")}


def grant_attributes(grant, request=None):
    attributes = {
        "grantee_kind": grant["grantee_kind"], "grantee": grant["grantee_id"],
        "patient": grant["patient_id"], "scope": grant["scope"], "purpose": grant["purpose"],
        "valid_from": ts(grant["valid_from"]), "valid_until": ts(grant["valid_until"]),
        "one_time": grant["one_time"], "granted_by": grant["granted_by"],
        "request": grant.get("request_id"), "note": grant.get("note"),
    }
    if grant.get("request_id"):
        attributes["request_state"] = request["state"] if request else None
    return attributes


def end_attributes(grant):
    """How a grant ended (revoked / expired / used): the state it is in now, who, when, what."""
    return {"state": grant["state"], "ended_by": grant.get("ended_by"),
            "ended_at": ts(grant.get("ended_at")), "record": grant.get("used_record")}


# Requests --------------------------------------------------------------------------------------

def _requester_fields(db, requester):
    if requester["role"] == users.DOCTOR:
        return {"requester_kind": DOCTOR_GRANTEE, "requester_id": requester["human_id"],
                "requester_name": requester["name"], "requester_org": requester.get("org_id")}
    if requester["role"] == users.ORG_MANAGER:
        org = organizations.get(db, requester.get("org_id")) if requester.get("org_id") else None
        if org is None:
            raise Forbidden("Your account does not belong to an organization.")
        if not organizations.shares_records(org):
            raise Forbidden("A research organization receives only de-identified exports of "
                            "approved studies: it cannot ask for records.")
        return {"requester_kind": ORG_GRANTEE, "requester_id": org["human_id"],
                "requester_name": org["name"], "requester_org": org["human_id"]}
    raise Forbidden("Only doctors and organization managers request access.")


def _named_types(db, patient_id, scope):
    """The type of each record a named scope lists (so it can be compared with a types scope)."""
    if scope["kind"] != RECORDS:
        return {}
    return {doc["record_id"]: doc["type"] for doc in db.records.find(
        {"record_id": {"$in": scope["records"]}, "patient_id": patient_id},
        {"record_id": 1, "type": 1})}


def _refuse_duplicate(db, requester, patient_id, scope, now=None):
    """A second request to a patient who has one pending from the same requester, or who
    already granted that requester what is asked, only clutters the patient's queue: a
    Conflict naming the request or grant that already exists (an organization's: any of its
    managers'). A live grant narrower than what is asked does not stop a wider request."""
    yours = requester["requester_kind"] == DOCTOR_GRANTEE
    who = "You" if yours else "Your organization"
    pending = _of_patient(db, patient_id, requester_id=requester["requester_id"], state=PENDING)
    if pending:
        raise Conflict(f"{who} already {'have' if yours else 'has'} a pending request "
                       f"{pending[0]['request_id']} to {patient_id}; cancel it or wait for the "
                       "patient's answer.")
    now = now or now_ms()
    named_types = _named_types(db, patient_id, scope)
    covering = [grant for grant in grants_to(db, [requester["requester_id"]], patient_id=patient_id,
                                             now=now)
                if is_active(grant, now) and is_within(scope, grant["scope"], named_types)]
    if covering:
        grant = covering[0]
        raise Conflict(f"{who} already {'hold' if yours else 'holds'} access to this: grant "
                       f"{grant['grant_id']} from {patient_id} ({describe_scope(grant['scope'])}"
                       f"{', one read' if grant['one_time'] else ''}, until "
                       f"{grant['valid_until']:%Y-%m-%d %H:%M} UTC). No new request is needed "
                       "while it lasts.")


def request_access(db, *, requester, patient_id, scope_kind, type_names=(), record_text="",
                   purpose, duration_days, one_time, message):
    """A pending request to a patient, sealed as `access.requested`."""
    fields = _requester_fields(db, requester)
    patient = require_patient(db, patient_id)
    errors = {}
    scope = None
    try:
        scope = clean_scope(db, patient["human_id"], scope_kind, type_names, record_text)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    try:
        purpose, days, one_time, message = clean_terms(purpose, duration_days, one_time, message)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    if errors:
        raise InvalidInput("Check the highlighted fields.", errors)
    _refuse_duplicate(db, fields, patient["human_id"], scope)
    req = dict(fields, **{
        "request_id": ids.next_id(db, "request"), "patient_id": patient["human_id"],
        "requested_by": requester["human_id"], "scope": scope, "purpose": purpose,
        "duration_days": days, "one_time": one_time, "message": message, "state": PENDING,
        "created_at": now_ms(), "decided_at": None, "decided_by": None, "decision_note": None,
        "grant_id": None, "sealed_height": None, "seals": {},
    })
    salts = new_salts(request_attributes(req))
    db.access_requests.insert_one(authority.stamp("access_requests",
                                                  pending_fields(req, REQUESTED, salts)))
    seal_pending(db, REQUESTED, req, requester, request_attributes(req), salts)
    return req


def get_request(db, request_id):
    """The request, if authentic (one written outside the app decides nothing: None, logged)."""
    return authority.authentic("access_requests", db.access_requests.find_one(
        {"request_id": (request_id or "").strip().upper()}))


def request_for_patient(db, patient, request_id):
    """A request addressed to this patient; anyone else's is simply not found."""
    req = get_request(db, request_id)
    if req is None or req["patient_id"] != patient["human_id"]:
        raise NotFound("There is no such request.")
    return req


def _already_decided(req):
    return Conflict(f"This request was already {req['state']}: nothing was changed.")


def _decide(db, patient, request_id, to_state, extra, sealing=None):
    """The one atomic pending → decided update (with the pending marker of its block, if it
    has one); Conflict for the second of two decisions."""
    current = request_for_patient(db, patient, request_id)
    update = {"$set": dict(extra, state=to_state, decided_by=patient["human_id"],
                           decided_at=extra.get("decided_at") or now_ms())}
    decided = authority.transition(
        db.access_requests, {"_id": current["_id"], "patient_id": patient["human_id"], "state": PENDING},
        merge(update, sealing) if sealing else update)
    if decided is None:
        raise _already_decided(db.access_requests.find_one({"_id": current["_id"]}))
    return decided


def approve(db, *, patient, request_id, scope=None, duration_days=None, one_time=False, now=None):
    """Approve (optionally narrower or shorter): the request becomes `approved` and a grant
    starts now. `scope` and `duration_days` may only narrow what was asked."""
    req = request_for_patient(db, patient, request_id)
    if req["state"] != PENDING:
        raise _already_decided(req)
    scope = scope or req["scope"]
    days = req["duration_days"] if duration_days in (None, "") else duration_days
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    errors = {}
    if not 1 <= days <= req["duration_days"]:
        errors["duration_days"] = (f"Choose at most the {req['duration_days']} day(s) asked for "
                                   "(you can shorten the period, not extend it).")
    named_types = _named_types(db, patient["human_id"], scope)
    if not is_within(scope, req["scope"], named_types):
        errors["scope"] = "You can narrow what was asked for, not widen it."
    if errors:
        raise InvalidInput("Check the highlighted fields.", errors)
    start = now or now_ms()
    grant_id = ids.next_id(db, "grant")
    # The grant first (pending, so not yet in force), then the request's decision naming it:
    # a crash in between leaves a grant whose request does not name it, which reconcile
    # removes; a crash after leaves a complete approval, which reconcile seals.
    grant = _insert_grant(db, patient=patient, grantee_kind=req["requester_kind"],
                          grantee_id=req["requester_id"], grantee_name=req["requester_name"],
                          grantee_org=req["requester_org"], scope=scope, purpose=req["purpose"],
                          start=start, days=days, one_time=bool(one_time or req["one_time"]),
                          request_id=req["request_id"], grant_id=grant_id, note=None,
                          kind=APPROVED_KIND)
    try:
        decided = _decide(db, patient, request_id, APPROVED,
                          {"grant_id": grant_id, "decided_at": start})
    except Conflict:
        db.grants.delete_one({"_id": grant["_id"], "sealed_height": None})
        raise
    seal_pending(db, APPROVED_KIND, grant, patient, grant_attributes(grant, decided),
                 grant["seals"]["approved"]["salts"])
    return db.grants.find_one({"_id": grant["_id"]})


def reject(db, *, patient, request_id, note=""):
    note = " ".join((note or "").split()) or None
    if note and len(note) > MAX_MESSAGE_LENGTH:
        problem = f"Use at most {MAX_MESSAGE_LENGTH} characters."
        raise InvalidInput(problem, {"note": problem})
    salts = new_salts(decision_attributes({"state": REJECTED}))
    decided = _decide(db, patient, request_id, REJECTED, {"decision_note": note},
                      pending_update(REJECTED_KIND, salts))
    seal_pending(db, REJECTED_KIND, decided, patient, decision_attributes(decided), salts)
    return decided


def _may_cancel(user, req):
    if req["requester_kind"] == DOCTOR_GRANTEE:
        return req["requested_by"] == user["human_id"]
    return user["role"] == users.ORG_MANAGER and req["requester_id"] == user.get("org_id")


def cancel(db, *, user, request_id):
    """The requester withdraws a pending request (an organization's: any of its managers)."""
    req = get_request(db, request_id)
    if req is None or not _may_cancel(user, req):
        raise NotFound("There is no such request of yours.")
    salts = new_salts(decision_attributes({"state": CANCELLED}))
    cancelled = authority.transition(
        db.access_requests, {"_id": req["_id"], "state": PENDING},
        merge({"$set": {"state": CANCELLED, "decided_by": user["human_id"], "decided_at": now_ms()}},
              pending_update(CANCELLED_KIND, salts)))
    if cancelled is None:
        raise _already_decided(db.access_requests.find_one({"_id": req["_id"]}))
    seal_pending(db, CANCELLED_KIND, cancelled, user, decision_attributes(cancelled), salts)
    return cancelled


def _of_patient(db, patient_id, **equal):
    """A patient's requests matching `equal`, read by the patient index alone and filtered
    here: on the embedded server each extra query field costs more CPU than the few documents
    of one patient cost to filter."""
    found = db.access_requests.find({"patient_id": patient_id}, limit=LIST_LIMIT)
    return [req for req in found if all(req.get(name) == value for name, value in equal.items())]


def pending_for_patient(db, patient_id):
    return sorted(_of_patient(db, patient_id, state=PENDING), key=lambda req: req["created_at"])


def requests_for_patient(db, patient_id):
    found = db.access_requests.find({"patient_id": patient_id}, limit=LIST_LIMIT)
    return sorted(found, key=lambda req: req["created_at"], reverse=True)


def pending_between(db, requested_by, patient_id):
    """A requester's pending requests to one patient (found through the patient's index)."""
    found = _of_patient(db, patient_id, requested_by=requested_by, state=PENDING)
    return sorted(found, key=lambda req: req["created_at"])


def requests_page(db, *, before=None, **owner):
    """One keyset page of requests, newest first, by one owner field: `patient_id`,
    `requested_by` (a doctor) or `requester_id` (an organization)."""
    (field, value), = owner.items()
    if field not in ("patient_id", "requested_by", "requester_id"):
        raise ValueError(f"requests are not listed by {field}")
    return pages.newest_first(db, "access_requests", {field: value}, before=before)


# Grants ----------------------------------------------------------------------------------------

def _insert_grant(db, *, patient, grantee_kind, grantee_id, grantee_name, grantee_org, scope,
                  purpose, start, days, one_time, request_id, grant_id, note, kind):
    """A new grant, written pending its `kind` block (with that event's salts)."""
    grant = {
        "grant_id": grant_id, "patient_id": patient["human_id"], "grantee_kind": grantee_kind,
        "grantee_id": grantee_id, "grantee_name": grantee_name, "grantee_org": grantee_org,
        "scope": scope, "purpose": purpose, "valid_from": start,
        "valid_until": start + timedelta(days=days), "one_time": one_time, "state": APPROVED,
        "request_id": request_id, "granted_by": patient["human_id"], "created_at": start,
        "note": note, "ended_by": None, "ended_at": None, "used_record": None,
        "sealed_height": None, "seals": {},
    }
    pending_fields(grant, kind, new_salts(grant_attributes(grant, {"state": APPROVED})))
    try:
        db.grants.insert_one(authority.stamp("grants", grant))
    except pymongo.errors.DuplicateKeyError:
        raise Conflict("This grant already exists.") from None
    return grant


def find_grantee(db, grantee_id):
    """(kind, id, name, org) of a doctor (DOC-…) or an organization (ORG-…) to grant to."""
    text = (grantee_id or "").strip().upper()
    if text.startswith("DOC-"):
        doctor = authority.authentic("users", users.by_human_id(db, text, role=users.DOCTOR))
        if doctor and doctor.get("active", True):
            return DOCTOR_GRANTEE, doctor["human_id"], doctor["name"], doctor.get("org_id")
    elif text.startswith("ORG-"):
        org = organizations.get(db, text)
        if org and org.get("active", True) and organizations.shares_records(org):
            return ORG_GRANTEE, org["human_id"], org["name"], org["human_id"]
    problem = "No active doctor (DOC-…) or organization (ORG-…) has that id."
    raise InvalidInput(problem, {"grantee": problem})


def grant_proactively(db, *, patient, grantee, scope_kind, type_names=(), record_text="",
                      purpose, duration_days, one_time, note="", now=None):
    """A grant the patient gives without being asked (e.g. "share with this hospital")."""
    errors = {}
    found = scope = None
    try:
        found = find_grantee(db, grantee)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    try:
        scope = clean_scope(db, patient["human_id"], scope_kind, type_names, record_text)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    try:
        purpose, days, one_time, note = clean_terms(purpose, duration_days, one_time, note)
    except InvalidInput as exc:
        errors.update({"note" if k == "message" else k: v for k, v in exc.field_errors.items()})
    if errors:
        raise InvalidInput("Check the highlighted fields.", errors)
    kind, grantee_id, name, org = found
    grant = _insert_grant(db, patient=patient, grantee_kind=kind, grantee_id=grantee_id,
                          grantee_name=name, grantee_org=org, scope=scope, purpose=purpose,
                          start=now or now_ms(), days=days, one_time=one_time, request_id=None,
                          grant_id=ids.next_id(db, "grant"), note=note or None,
                          kind=GRANTED_KIND)
    seal_pending(db, GRANTED_KIND, grant, patient, grant_attributes(grant),
                 grant["seals"]["granted"]["salts"])
    return db.grants.find_one({"_id": grant["_id"]})


def get_grant(db, grant_id):
    """The grant, if authentic (a forged one decides nothing: None, logged)."""
    return authority.authentic("grants", db.grants.find_one(
        {"grant_id": (grant_id or "").strip().upper()}))


def _end(db, grant, to_state, actor, *, extra_query=None, record_id=None, now=None):
    """approved → revoked | expired | used in one atomic update; the winner seals it."""
    query = {"_id": grant["_id"], "state": APPROVED}
    query.update(extra_query or {})
    kind = {REVOKED: REVOKED_KIND, EXPIRED: EXPIRED_KIND, USED: USED_KIND}[to_state]
    salts = new_salts(end_attributes(grant))
    ended = authority.transition(db.grants, query, merge({"$set": {
        "state": to_state, "ended_by": actor["human_id"] if actor else "system",
        "ended_at": now or now_ms(), "used_record": record_id}}, pending_update(kind, salts)))
    if ended is not None:
        seal_pending(db, kind, ended, actor, end_attributes(ended), salts)
    return ended


def notice_expiry(db, grant, now):
    """Expire an approved grant whose period is over; seals `access.expired` the first time."""
    if grant["state"] != APPROVED or now < grant["valid_until"]:
        return grant
    ended = _end(db, grant, EXPIRED, None, extra_query={"valid_until": {"$lte": now}}, now=now)
    return ended or db.grants.find_one({"_id": grant["_id"]})


def use_once(db, grant, viewer, record_id, now):
    """Consume a one-time grant for this read; False if someone else used it first."""
    return _end(db, grant, USED, viewer, extra_query={"one_time": True}, record_id=record_id,
                now=now) is not None


def revoke(db, *, patient, grant_id, now=None):
    grant = get_grant(db, grant_id)
    if grant is None or grant["patient_id"] != patient["human_id"]:
        raise NotFound("There is no such grant.")
    grant = notice_expiry(db, grant, now or now_ms())
    ended = _end(db, grant, REVOKED, patient, now=now) if grant["state"] == APPROVED else None
    if ended is None:
        current = db.grants.find_one({"_id": grant["_id"]})
        raise Conflict(f"This grant is already {current['state']}: nothing was changed.")
    return ended


def grants_for_patient(db, patient_id, now=None):
    """All of a patient's grants (expiry noticed on the way), newest first."""
    now = now or now_ms()
    found = [notice_expiry(db, grant, now)
             for grant in _authentic(db.grants.find({"patient_id": patient_id}, limit=LIST_LIMIT))]
    return sorted(found, key=lambda grant: grant["created_at"], reverse=True)


def grants_to(db, grantee_ids, patient_id=None, now=None):
    """Grants held by these grantees (a doctor and their organization), expiry noticed."""
    wanted = [grantee for grantee in grantee_ids if grantee]
    if not wanted:
        return []
    if patient_id:
        # One indexed field, the grantees filtered here: on the embedded server a query on
        # two fields costs twice the CPU, and a patient's grants are a short list.
        found = db.grants.find({"patient_id": patient_id}, limit=LIST_LIMIT)
        found = [grant for grant in found if grant["grantee_id"] in wanted]
    else:
        found = db.grants.find({"grantee_id": {"$in": wanted}}, limit=LIST_LIMIT)
    found = _authentic(found)
    now = now or now_ms()
    found = [notice_expiry(db, grant, now) for grant in found]
    return sorted(found, key=lambda grant: grant["created_at"], reverse=True)


def _authentic(grants):
    """Only grants that pass their authority check: a forged or widened one opens nothing
    (it is logged, and the audit names it)."""
    return [grant for grant in grants if authority.authentic("grants", grant) is not None]


def is_active(grant, now):
    """In force now: approved, sealed (a grant still waiting for its block is not), in period."""
    return grant["state"] == APPROVED and not is_pending(grant, grant_kind(grant)) \
        and grant["valid_from"] <= now < grant["valid_until"]


def grant_kind(grant):
    """The event that created the grant: an approval of a request, or a proactive grant."""
    return APPROVED_KIND if grant.get("request_id") else GRANTED_KIND


# What the audit rebuilds ---------------------------------------------------------------------

def _salts(doc, event):
    return ((doc.get("seals") or {}).get(event) or {}).get("salts", {})


def _subject(block, key):
    value = (block.get("subject") or {}).get(key)
    return value if isinstance(value, str) else None


def _named(db, block, prefetched, collection, field, key):
    """The document the block's subject names by `key` (prefetched, or one lookup), or None."""
    value = _subject(block, key)
    doc = None
    if value is not None:
        doc = registry.take(prefetched, block, lambda doc: registry.same(doc.get(field), value))
    return doc if doc is not None else db[collection].find_one({field: value})


def rebuild_request(db, block, data_key, prefetched=None):
    req = _named(db, block, prefetched, "access_requests", "request_id", "request")
    return (request_attributes(req), _salts(req, "requested")) if req else None


def rebuild_decision(db, block, data_key, prefetched=None):
    req = _named(db, block, prefetched, "access_requests", "request_id", "request")
    event = REJECTED if block.get("kind") == REJECTED_KIND else CANCELLED
    return (decision_attributes(req), _salts(req, event)) if req else None


def grants_sealed_in(db, lo, hi):
    """{height: (grant, its request or None)} for grants sealed in [lo, hi) (approved or
    granted), with the approvals' requests read in a few `$in` queries."""
    grants = registry.sealed_in(db.grants, "sealed_height", lo, hi)
    requests = registry.find_in(db.access_requests, "request_id",
                                [grant.get("request_id") for grant in grants.values()])
    return {height: (grant, requests.get(grant.get("request_id"))
                     if isinstance(grant.get("request_id"), str) else None)
            for height, grant in grants.items()}


def rebuild_grant(db, block, data_key, prefetched=None):
    grant_id = _subject(block, "grant")
    found = None
    if grant_id is not None:
        found = registry.take(prefetched, block,
                              lambda pair: registry.same(pair[0].get("grant_id"), grant_id))
    grant, request = found or (db.grants.find_one({"grant_id": grant_id}), None)
    if grant is None:
        return None
    if grant.get("request_id") and request is None:
        request = db.access_requests.find_one({"request_id": grant["request_id"]})
    event = "approved" if block.get("kind") == APPROVED_KIND else "granted"
    return grant_attributes(grant, request), _salts(grant, event)


def rebuild_end(db, block, data_key, prefetched=None):
    grant = _named(db, block, prefetched, "grants", "grant_id", "grant")
    event = block.get("kind", "").rsplit(".", 1)[-1]
    return (end_attributes(grant), _salts(grant, event)) if grant else None


def consent_coverage(db):
    """Each request and grant must be sealed, and so must each state a decision left it in."""
    for req in db.access_requests.find({}, {"request_id": 1, "state": 1, "sealed_height": 1,
                                            "seals": 1}):
        yield "access_requests", req["request_id"], req.get("sealed_height")
        if req.get("state") in (REJECTED, CANCELLED):
            height = registry.field_of(req, f"seals.{req['state']}.height")
            yield "access_requests", f"{req['request_id']} {req['state']}", height
    for grant in db.grants.find({}, {"grant_id": 1, "state": 1, "sealed_height": 1, "seals": 1}):
        yield "grants", grant["grant_id"], grant.get("sealed_height")
        if grant.get("state") in (REVOKED, EXPIRED, USED):
            height = registry.field_of(grant, f"seals.{grant['state']}.height")
            yield "grants", f"{grant['grant_id']} {grant['state']}", height


# What reconcile finishes after a crash -------------------------------------------------------

def _by(field):
    """The account named by a human id field (None for "system": an expiry)."""
    def actor(db, doc):
        return users.by_human_id(db, doc.get(field) or "")
    return actor


def _request_subject(req):
    return {"request": req["request_id"]}


def _grant_subject(grant):
    return {"grant": grant["grant_id"]}


def _approval_subject(grant):
    return {"request": grant["request_id"], "grant": grant["grant_id"]}


def _sealed_request(db, data_key, req):
    return request_attributes(req), _salts(req, "requested")


def _sealed_decision(db, data_key, req):
    return decision_attributes(req), _salts(req, req["state"])


def _sealed_approval(db, data_key, grant):
    """Complete only if the request was decided for this very grant; else None (the crash
    came between the grant and the decision: the grant is removed, the request stays open)."""
    request = db.access_requests.find_one({"request_id": grant.get("request_id")})
    if request is None or request.get("state") != APPROVED \
            or request.get("grant_id") != grant["grant_id"]:
        return None
    return grant_attributes(grant, request), _salts(grant, "approved")


def _remove_unsealed_grant(db, grant):
    db.grants.delete_one({"_id": grant["_id"], "sealed_height": None})


def _sealed_grant(db, data_key, grant):
    return grant_attributes(grant), _salts(grant, "granted")


def _sealed_end(db, data_key, grant):
    return end_attributes(grant), _salts(grant, grant["state"])


def _ending(kind, state):
    return EventKind(kind, "grants", f"seals.{state}.height", rebuild_end,
                     subject=_grant_subject, salts_at=f"seals.{state}.salts",
                     actor=_by("ended_by"), sealed=_sealed_end,
                     label=lambda grant: f"{grant['grant_id']} {state}")


def _decision(kind, state):
    return EventKind(kind, "access_requests", f"seals.{state}.height", rebuild_decision,
                     subject=_request_subject, salts_at=f"seals.{state}.salts",
                     actor=_by("decided_by"), sealed=_sealed_decision,
                     label=lambda req: f"{req['request_id']} {state}")


EVENTS = (
    EventKind(REQUESTED, "access_requests", "sealed_height", rebuild_request,
              creates_document=True, subject=_request_subject,
              salts_at="seals.requested.salts", also_at=("seals.requested.height",),
              actor=_by("requested_by"), sealed=_sealed_request),
    _decision(REJECTED_KIND, REJECTED),
    _decision(CANCELLED_KIND, CANCELLED),
    EventKind(APPROVED_KIND, "grants", "sealed_height", rebuild_grant, creates_document=True,
              prefetch=grants_sealed_in, subject=_approval_subject,
              salts_at="seals.approved.salts", also_at=("seals.approved.height",),
              actor=_by("granted_by"), sealed=_sealed_approval, rollback=_remove_unsealed_grant,
              label=lambda grant: grant["grant_id"]),
    EventKind(GRANTED_KIND, "grants", "sealed_height", rebuild_grant, creates_document=True,
              prefetch=grants_sealed_in, subject=_grant_subject,
              salts_at="seals.granted.salts", also_at=("seals.granted.height",),
              actor=_by("granted_by"), sealed=_sealed_grant),
    _ending(REVOKED_KIND, REVOKED),
    _ending(EXPIRED_KIND, EXPIRED),
    _ending(USED_KIND, USED),
)
COVERAGE = (consent_coverage,)
