"""Prescriptions shared with a pharmacy, and dispensing them (once).

A pharmacist sees the prescriptions that patients shared with their pharmacy (a grant to the
organization covering prescriptions, or naming them). Dispensing is one atomic update of the
prescription's `rx_status` from `active` to `dispensed`, sealed as `record.dispensed`; a
second attempt finds nothing in the expected state and gets a Conflict (409).
"""
from models.clinical import records
from models.consent import workflow as consent
from models.core import record_types
from models.core.clock import now_ms, ts
from models.core.errors import Conflict, Forbidden
from models.people import users
from models.sealing.registry import EventKind
from models.sealing.seam import merge, new_salts, pending_update, seal_pending
from models.storage import authority

DISPENSED_KIND = "record.dispensed"
LIST_LIMIT = 500

def dispense_attributes(doc):
    dispense = doc.get("dispense") or {}
    return {"status": doc["rx_status"], "pharmacy": dispense.get("pharmacy"),
            "pharmacist": dispense.get("by"),
            "at": ts(dispense.get("at"))}


def _pharmacy_grants(db, pharmacist, now):
    if pharmacist["role"] != users.PHARMACIST or not pharmacist.get("org_id"):
        return []
    return consent.grants_to(db, [pharmacist["org_id"]], now=now)


def shared_prescriptions(db, pharmacist, now=None):
    """[(prescription envelope, grant)] currently shared with the pharmacist's pharmacy."""
    now = now or now_ms()
    grants = [grant for grant in _pharmacy_grants(db, pharmacist, now)
              if consent.is_active(grant, now) or grant["state"] == consent.USED]
    if not grants:
        return []
    patients = sorted({grant["patient_id"] for grant in grants})
    found = db.records.find({"patient_id": {"$in": patients}, "type": record_types.PRESCRIPTION,
                             "status": records.FINAL}, records.ENVELOPE, limit=LIST_LIMIT)
    shared = []
    for doc in found:
        grant = _grant_for(grants, doc, now)
        if grant and authority.authentic("records", doc) is not None:
            shared.append((doc, grant))
    shared.sort(key=lambda pair: pair[0]["created_at"], reverse=True)
    return shared


def _grant_for(grants, doc, now):
    """An active grant covering the prescription, or the one-time grant used to read it."""
    for grant in grants:
        if grant["patient_id"] != doc["patient_id"] or not consent.scope_covers(grant["scope"], doc):
            continue
        if consent.is_active(grant, now) or grant.get("used_record") == doc["record_id"]:
            return grant
    return None


def dispense(db, *, pharmacist, record_id, version, now=None):
    """Mark a shared, current prescription as dispensed: once, sealed."""
    now = now or now_ms()
    doc = records.require_version(db, record_id, version)
    grants = _pharmacy_grants(db, pharmacist, now)
    if doc["type"] != record_types.PRESCRIPTION or not _grant_for(grants, doc, now):
        raise Forbidden("This prescription is not shared with your pharmacy.")
    salts = new_salts(dispense_attributes(doc))
    dispensed = authority.transition(
        db.records, {"_id": doc["_id"], "status": records.FINAL, "rx_status": records.RX_ACTIVE},
        merge({"$set": {"rx_status": records.RX_DISPENSED, "dispense": {
            "by": pharmacist["human_id"], "pharmacy": pharmacist["org_id"], "at": now,
            "seal_salts": salts}}}, pending_update(DISPENSED_KIND)))
    if dispensed is None:
        current = db.records.find_one({"_id": doc["_id"]}, records.ENVELOPE)
        if current["rx_status"] == records.RX_DISPENSED:
            raise Conflict("This prescription was already dispensed.")
        if current["rx_status"] == records.RX_CANCELLED:
            raise Conflict("The prescriber cancelled this prescription.")
        raise Conflict("This prescription is no longer current (amended or entered in error).")
    seal_pending(db, DISPENSED_KIND, dispensed, pharmacist, dispense_attributes(dispensed), salts)
    return dispensed


def rebuild_dispensed(db, block, data_key, prefetched=None):
    doc = records.sealed_version(db, block, prefetched, records.ENVELOPE)
    if doc is None or not doc.get("dispense"):
        return None
    return dispense_attributes(doc), doc["dispense"].get("seal_salts", {})


def _pharmacist(db, doc):
    return users.by_human_id(db, (doc.get("dispense") or {}).get("by") or "")


EVENTS = (EventKind(DISPENSED_KIND, "records", "dispense.sealed_height", rebuild_dispensed,
                    projection=records.ENVELOPE, subject=records.version_subject,
                    salts_at="dispense.seal_salts", actor=_pharmacist,
                    sealed=lambda db, key, doc: (dispense_attributes(doc),
                                                 doc["dispense"].get("seal_salts", {})),
                    label=lambda doc: records.version_label(doc, records.RX_DISPENSED)),)
