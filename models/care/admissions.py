"""Hospital admissions: the front desk admits a patient to a ward and bed under an attending
doctor, moves them to another bed, and discharges them; the attending doctor then writes the
discharge summary (a record like any other, linked from the admission).

States: admitted → discharged, or admitted → entered-in-error (recorded by mistake); any
other step is a Conflict (409). Each step is one
compare-and-set on the protected admission (models.storage.authority), sealed in the same
request: `admission.admitted`, `admission.transferred` (one block per movement),
`admission.discharged`, `admission.summary_linked`. The chain keeps ids, wards, beds, times
and the attending doctor, and of the reason only a hash (the text stays in the document).

One current admission per patient per hospital and one patient per bed are unique keys in
`admission_holds` (its `_id`), inserted before the admission and released at discharge or
transfer: of two desks admitting to one bed at once exactly one insert wins. A hold left by a
crash (its admission missing after the grace period, discharged, or moved on) is stale and
taken over, so a bed is never blocked for good.
"""
from datetime import timedelta

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from models.care import admission_rules as rules
from models.care.admission_seals import (ADMITTED_KIND, DISCHARGED, DISCHARGED_KIND,
                                         ENTERED_IN_ERROR, ERROR_KIND, TRANSFERRED_KIND,
                                         admitted_attributes, discharged_attributes,
                                         error_attributes, movement_attributes)
from models.core import ids
from models.core.clock import now_ms
from models.core.errors import Conflict, Forbidden, NotFound
from models.people import organizations, users
from models.people.patients import require_patient
from models.sealing.seam import (is_pending, merge, new_salts, pending_fields, pending_update,
                                 seal_pending)
from models.storage import authority

ADMITTED = "admitted"
STATUS_LABELS = {ADMITTED: "In hospital", DISCHARGED: "Discharged",
                 ENTERED_IN_ERROR: "Entered in error"}
HOLD_GRACE = timedelta(seconds=120)
"""A hold younger than this may belong to a request still running (an admission not written
yet, a move not yet recorded): it stands whatever its admission says."""
BOARD_LIMIT = 2000
LIST_LIMIT = 500
HOLDS = "admission_holds"

AUTHORITY = (authority.Protected(
    "admissions", ("admission_id", "org_id", "patient_id", "status", "attending", "ward", "bed",
                   "summary.record_id"),
    name=lambda doc: doc.get("admission_id")),)
"""Whose stay, at which hospital, in which bed, under which doctor, and which summary: the
facts that decide who sees the stay and who writes its summary."""

INDEXES = {
    "admissions": [
        ([("admission_id", 1)], {"unique": True}),
        ([("org_id", 1), ("status", 1)], {}),
        ([("org_id", 1), ("admitted_at", 1)], {}),
        ([("patient_id", 1)], {}),
        ([("attending", 1), ("status", 1)], {}),
        ([("movements.height", 1)], {"sparse": True}),
    ],
}


# Who may do what ------------------------------------------------------------------------------

def desk_hospital(db, user):
    """The hospital whose front desk `user` is; Forbidden for any other desk or role."""
    if user.get("role") != users.FRONT_DESK:
        raise Forbidden("Only the front desk admits, transfers and discharges.")
    org = organizations.get(db, user.get("org_id"))
    if org is None or org.get("kind") != organizations.HOSPITAL or not org.get("active", True):
        raise Forbidden("Admissions are recorded by the front desk of a hospital.")
    return org


def is_staff_of(user, org_id):
    """The hospital's desk, manager and doctors see its wards."""
    return (user.get("role") in (users.FRONT_DESK, users.ORG_MANAGER, users.DOCTOR)
            and bool(org_id) and user.get("org_id") == org_id)


def sees_reason(user, admission):
    """The reason is clinical: the hospital's doctors and the patient read it, the desk
    (which typed it) and the manager do not read it back."""
    return (user.get("role") == users.DOCTOR and user.get("org_id") == admission["org_id"]) or \
        (user.get("role") == users.PATIENT and user.get("human_id") == admission["patient_id"])


def _attending_doctor(db, org, human_id, errors):
    doctor = users.by_human_id(db, human_id or "", role=users.DOCTOR)
    if doctor is None or doctor.get("org_id") != org["human_id"] or not doctor.get("active", True) \
            or (doctor.get("verification") or {}).get("state") != "verified" or is_pending(doctor):
        errors["attending"] = "Choose a verified doctor of this hospital."
        return None
    return doctor


def doctors_of(db, org_id):
    """The hospital's verified, active doctors (the attending doctor's choices)."""
    found = db.users.find({"org_id": org_id, "role": users.DOCTOR},
                          {"human_id": 1, "name": 1, "active": 1, "verification.state": 1},
                          limit=LIST_LIMIT)
    return sorted((doc for doc in found if doc.get("active", True)
                   and (doc.get("verification") or {}).get("state") == "verified"),
                  key=lambda doc: (doc.get("name") or "", doc["human_id"]))


# Holds: one patient per bed, one stay per patient and hospital --------------------------------

SEPARATOR = "\x1f"
"""Between the parts of a hold's key: a control character, which no ward or bed name holds."""


def bed_hold(org_id, ward, bed):
    return SEPARATOR.join(("bed", org_id, rules.place_key(ward), rules.place_key(bed)))


def patient_hold(org_id, patient_id):
    return SEPARATOR.join(("patient", org_id, patient_id))


def _live(db, hold, now):
    """Whether a hold still stands: it is young (its admission or move may be in flight), or
    its admission is current and (for a bed) still in that bed. Else a crash left it."""
    if hold.get("at") is None or hold["at"] > now - HOLD_GRACE:
        return True
    admission = db.admissions.find_one({"_id": hold.get("admission")},
                                       {"status": 1, "org_id": 1, "ward": 1, "bed": 1})
    if admission is None or admission.get("status") != ADMITTED:
        return False
    if hold["_id"].startswith("bed" + SEPARATOR):
        return hold["_id"] == bed_hold(admission["org_id"], admission["ward"], admission["bed"])
    return True


def _take(db, hold_id, admission_oid, now, refusal):
    """Insert the hold, taking over a stale one; Conflict(refusal(holding admission)) if held."""
    for _ in range(3):
        try:
            db[HOLDS].insert_one({"_id": hold_id, "admission": admission_oid, "at": now})
            return
        except DuplicateKeyError:
            hold = db[HOLDS].find_one({"_id": hold_id})
            if hold is None:
                continue
            if _live(db, hold, now):
                holder = db.admissions.find_one({"_id": hold.get("admission")},
                                                {"admission_id": 1})
                raise Conflict(refusal((holder or {}).get("admission_id"))) from None
            db[HOLDS].delete_one({"_id": hold_id, "admission": hold.get("admission")})
    raise Conflict("This bed or patient is being admitted at this moment; try again.")


def _release(db, hold_id, admission_oid):
    db[HOLDS].delete_one({"_id": hold_id, "admission": admission_oid})


# The desk's steps -------------------------------------------------------------------------------

def admit(db, desk, *, patient_id, ward, bed, reason, attending, at="", zone):
    """A new admission (status admitted), sealed as `admission.admitted`."""
    org = desk_hospital(db, desk)
    now = now_ms()
    errors = {}
    ward, bed = rules.clean_place(errors, ward, bed)
    reason = rules.clean_reason(errors, reason)
    moment = rules.clean_time(errors, at, zone, now, today_only=True)
    doctor = _attending_doctor(db, org, attending, errors)
    try:
        patient = require_patient(db, patient_id)
    except NotFound as exc:
        errors["patient_id"] = exc.message
    rules.refuse(errors)
    oid = ObjectId()
    _take(db, patient_hold(org["human_id"], patient["human_id"]), oid, now,
          lambda held: f"{patient['human_id']} is already in this hospital ({held}): transfer "
                       "or discharge that stay instead.")
    try:
        _take(db, bed_hold(org["human_id"], ward, bed), oid, now,
              lambda held: f"Bed {bed} of ward {ward} is taken ({held}).")
    except Conflict:
        _release(db, patient_hold(org["human_id"], patient["human_id"]), oid)
        raise
    doc = {
        "_id": oid, "admission_id": f"ADN-{ids.reserve(db, 'admission'):06d}",
        "org_id": org["human_id"], "patient_id": patient["human_id"],
        "patient_name": patient.get("name"), "status": ADMITTED, "attending": doctor["human_id"],
        "attending_name": doctor.get("name"), "ward": ward, "bed": bed, "reason": reason,
        "admitted_at": moment, "recorded_at": now,
        "admitted": {"ward": ward, "bed": bed, "by": desk["human_id"],
                     "reason_sha256": rules.reason_digest(reason)},
        "movements": [], "discharge": None, "summary": None, "sealed_height": None, "seals": {},
    }
    salts = new_salts(admitted_attributes(doc))
    try:
        db.admissions.insert_one(authority.stamp("admissions",
                                                 pending_fields(doc, ADMITTED_KIND, salts)))
    except Exception:
        _release(db, patient_hold(org["human_id"], patient["human_id"]), oid)
        _release(db, bed_hold(org["human_id"], ward, bed), oid)
        raise
    seal_pending(db, ADMITTED_KIND, doc, desk, admitted_attributes(doc), salts)
    return doc


def _desk_admission(db, desk, admission_id):
    org = desk_hospital(db, desk)
    doc = get(db, admission_id)
    if doc is None or doc["org_id"] != org["human_id"]:
        raise NotFound("There is no such admission at this hospital.")
    return org, doc


def _last_change(doc):
    moves = doc.get("movements") or []
    return moves[-1]["at"] if moves else doc["admitted_at"]


def _refuse_step(doc, step):
    if doc["status"] != ADMITTED:
        raise Conflict(f"{doc['admission_id']} is {doc['status']}: it cannot be {step}.")
    if is_pending(doc):
        raise Conflict(f"The last change of {doc['admission_id']} is still being recorded; "
                       "try again in a few minutes.")


def transfer(db, desk, admission_id, *, ward, bed, at="", zone):
    """Move an admitted patient to another bed: a new movement, sealed."""
    org, doc = _desk_admission(db, desk, admission_id)
    _refuse_step(doc, "transferred")
    now = now_ms()
    errors = {}
    ward, bed = rules.clean_place(errors, ward, bed)
    moment = rules.clean_time(errors, at, zone, now, not_before=_last_change(doc))
    if not errors and bed_hold(org["human_id"], ward, bed) == \
            bed_hold(org["human_id"], doc["ward"], doc["bed"]):
        errors["bed"] = "That is the bed the patient is in."
    rules.refuse(errors)
    new_hold = bed_hold(org["human_id"], ward, bed)
    _take(db, new_hold, doc["_id"], now, lambda held: f"Bed {bed} of ward {ward} is taken ({held}).")
    moves = list(doc.get("movements") or [])
    move = {"seq": len(moves) + 1, "from_ward": doc["ward"], "from_bed": doc["bed"], "ward": ward,
            "bed": bed, "at": moment, "by": desk["human_id"], "height": None, "salts": None}
    salts = new_salts(movement_attributes(doc, move))
    if moves:  # the previous movement keeps its own block's height and salts
        previous = (doc.get("seals") or {}).get("transferred") or {}
        moves[-1] = dict(moves[-1], height=previous.get("height"), salts=previous.get("salts"))
    update = {"$set": {"ward": ward, "bed": bed, "movements": moves + [move],
                       "seals.transferred": {"salts": salts, "height": None}}}
    moved = authority.transition(
        db.admissions, {"_id": doc["_id"], "status": ADMITTED, "ward": doc["ward"],
                        "bed": doc["bed"]}, merge(update, pending_update(TRANSFERRED_KIND)),
        current=doc)
    if moved is None:
        _release(db, new_hold, doc["_id"])
        raise Conflict(f"{doc['admission_id']} changed at the same moment; reload and try again.")
    _release(db, bed_hold(org["human_id"], doc["ward"], doc["bed"]), doc["_id"])
    seal_pending(db, TRANSFERRED_KIND, moved, desk, movement_attributes(moved, move), salts)
    return moved


def discharge(db, desk, admission_id, *, destination, at="", zone):
    """admitted → discharged, sealed; the bed and the patient's hold are released."""
    org, doc = _desk_admission(db, desk, admission_id)
    _refuse_step(doc, "discharged")
    now = now_ms()
    errors = {}
    destination = rules.clean_destination(errors, destination)
    moment = rules.clean_time(errors, at, zone, now, not_before=_last_change(doc))
    rules.refuse(errors)
    return _end(db, org, doc, desk, status=DISCHARGED, kind=DISCHARGED_KIND, seal="discharged",
                attributes=discharged_attributes, fields={
                    "discharged_at": moment,
                    "discharge": {"at": moment, "destination": destination,
                                  "by": desk["human_id"]}})


def _end(db, org, doc, desk, *, status, kind, seal, attributes, fields):
    """admitted → `status` with `fields`, in one compare-and-set; the holds released; sealed."""
    salts = new_salts(attributes(dict(doc, status=status, **fields)))
    ended = authority.transition(
        db.admissions, {"_id": doc["_id"], "status": ADMITTED},
        merge({"$set": dict(fields, status=status,
                            **{f"seals.{seal}": {"salts": salts, "height": None}})},
              pending_update(kind)), current=doc)
    if ended is None:
        raise Conflict(f"{doc['admission_id']} changed at the same moment; reload and try again.")
    _release(db, bed_hold(org["human_id"], ended["ward"], ended["bed"]), doc["_id"])
    _release(db, patient_hold(org["human_id"], ended["patient_id"]), doc["_id"])
    seal_pending(db, kind, ended, desk, attributes(ended), salts)
    return ended


def mark_entered_in_error(db, desk, admission_id, *, reason):
    """admitted → entered-in-error (the wrong patient, say): never a delete; the bed and the
    patient are free again. Of the reason the ledger keeps a hash."""
    org, doc = _desk_admission(db, desk, admission_id)
    _refuse_step(doc, "marked as entered in error")
    errors = {}
    reason = rules.clean_reason(errors, reason)
    rules.refuse(errors)
    error = {"at": now_ms(), "by": desk["human_id"], "reason": reason,
             "reason_sha256": rules.reason_digest(reason)}
    return _end(db, org, doc, desk, status=ENTERED_IN_ERROR, kind=ERROR_KIND,
                seal="entered_in_error", attributes=error_attributes, fields={"error": error})


# Reading ------------------------------------------------------------------------------------------

def get(db, admission_id):
    """The admission, if authentic (Unauthentic otherwise), or None."""
    text = str(admission_id or "").strip().upper()
    if not text.startswith("ADN-") or len(text) > 20:
        return None
    return authority.require("admissions", db.admissions.find_one({"admission_id": text}))


def visible(db, user, admission_id):
    """The admission if `user` may see it (the patient, or the hospital's desk, manager and
    doctors); NotFound for everyone else, so its existence is not told."""
    doc = get(db, admission_id)
    if doc is None or not (is_staff_of(user, doc["org_id"]) or (
            user.get("role") == users.PATIENT and user.get("human_id") == doc["patient_id"])):
        raise NotFound("There is no such admission.")
    return doc


def _authentic(found):
    return [doc for doc in found if authority.authentic("admissions", doc) is not None]


def ward_board(db, user, org_id):
    """{ward: [admissions by bed]} of the hospital's current in-patients."""
    if not is_staff_of(user, org_id):
        raise Forbidden("Only the hospital's staff see its wards.")
    board = {}
    for doc in _authentic(db.admissions.find({"org_id": org_id, "status": ADMITTED},
                                             limit=BOARD_LIMIT)):
        board.setdefault(doc["ward"], []).append(doc)
    return {ward: sorted(docs, key=lambda doc: rules.place_key(doc["bed"]))
            for ward, docs in sorted(board.items(), key=lambda item: rules.place_key(item[0]))}


def history(db, user, org_id, start, end):
    """The hospital's admissions that began in [start, end), newest first (a bounded range on
    an index, sorted here)."""
    if not is_staff_of(user, org_id):
        raise Forbidden("Only the hospital's staff see its admissions.")
    found = db.admissions.find({"org_id": org_id, "admitted_at": {"$gte": start, "$lt": end}},
                               limit=BOARD_LIMIT)
    return sorted(_authentic(found), key=lambda doc: doc["admitted_at"], reverse=True)


def stays_of(db, patient_id):
    found = db.admissions.find({"patient_id": patient_id}, limit=LIST_LIMIT)
    return sorted(_authentic(found), key=lambda doc: doc["admitted_at"], reverse=True)


def attending_of(db, doctor, status):
    found = db.admissions.find({"attending": doctor["human_id"], "status": status},
                               limit=LIST_LIMIT)
    return sorted((doc for doc in _authentic(found) if doc["org_id"] == doctor.get("org_id")),
                  key=lambda doc: doc["admitted_at"], reverse=True)
