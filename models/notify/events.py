"""From sealed changes to notifications: who is told of what, decided from the documents.

`on_change(kind, doc, block)` is the seam's after-change hook (registered by `startup`): it
runs once a change's block is appended and its height recorded, with the change's document.
Recipients come from that document and the accounts it names, never from a form:

| sealed change | told | link |
|---|---|---|
| access requested | the patient | the request |
| request approved (maybe narrowed) or rejected | the requesting doctor, or the managers of the requesting organization | their requests |
| request cancelled | the patient | the request |
| grant given without a request, grant revoked | the grantee doctor, or the grantee organization's managers | their patient page / requests |
| a record read by anyone but the patient | the patient, one notification per reader while unread (folded) | who saw my records, that reader |
| emergency access opened | the patient; every active auditor (review queue) | emergencies / the case |
| prescription dispensed | the patient | the record |
| appointment requested or booked; accepted, declined or cancelled by the patient; patient checked in | the doctor | the appointment |
| a time proposed; accepted, declined or cancelled by the doctor's side; fulfilled, no-show, entered in error | the patient | the appointment |
| admitted to hospital, discharged | the patient | their stays |
| discharged | the attending doctor (a discharge summary to write) | their summaries to write |
| directory entry changed by the organization's manager | the doctor | their directory page |
| research study approved or rejected | the researcher who registered it | the study |
| two-factor sign-in turned on or reset, a recovery code used, new recovery codes | the account's owner | their Security page |

Each notification is keyed by the block's height and its recipient, so delivering a change
twice (a retried hook, reconcile finishing it after a crash, `replay`) never doubles it.
"""
import logging
from datetime import datetime

from flask import current_app

from models.care import admission_seals, appointments, doctor_directory
from models.clinical import audit_trail, pharmacy
from models.consent import emergency
from models.consent import workflow as consent
from models.core.clock import now_ms
from models.notify import inbox, mail, text
from models.people import accounts, organizations, two_factor_events, users
from models.research import studies
from models.sealing import registry
from models.sealing.seam import store_for
from models.storage.db import get_db

log = logging.getLogger(__name__)
PURPOSE_LABELS = dict(consent.PURPOSES)
MAX_AUDITORS = 50
MAX_MANAGERS = 20


def on_change(kind, doc, block, db=None):
    """The after-change hook: the notifications this sealed change creates (new ones only)."""
    handler = HANDLERS.get(kind)
    if handler is None:
        return []
    db = db if db is not None else get_db()
    created = [note for note in handler(db, doc, block["height"], _moment(block)) if note]
    for note in created:
        log.info("notification %s (%s) for %s", note["_id"], note["kind"], note["recipient"])
    mail.send_for(db, created)
    return created


def _moment(block):
    """When the change was sealed (the block's timestamp), so a replay keeps the time."""
    try:
        return datetime.fromisoformat(str(block.get("timestamp")).replace("Z", "+00:00"))
    except ValueError:
        return now_ms()


# Who is told ----------------------------------------------------------------------------------

def requester_accounts(db, requester_kind, requester_id):
    """The human ids a requester or grantee stands for: the doctor, or the managers of the
    organization (the request was made on its behalf, any of them may follow it up)."""
    if requester_kind == consent.DOCTOR_GRANTEE:
        return [requester_id] if requester_id else []
    if requester_kind == consent.ORG_GRANTEE and requester_id:
        managers = organizations.managers(db, [requester_id]).get(requester_id, [])
        return sorted(account["human_id"] for account in managers
                      if account.get("active", True))[:MAX_MANAGERS]
    return []


def active_auditors(db):
    return [account["human_id"] for account in accounts.by_role(db, users.AUDITOR)
            if account.get("active", True)][:MAX_AUDITORS]


def _patient_actor(db, patient_id):
    account = users.by_human_id(db, patient_id, role=users.PATIENT) or {}
    return {"id": patient_id, "name": account.get("name"), "role": users.PATIENT}


def _requester_actor(req):
    kind = req.get("requester_kind")
    return {"id": req.get("requester_id"), "name": req.get("requester_name"),
            "role": users.DOCTOR if kind == consent.DOCTOR_GRANTEE else text.ORGANIZATION_ROLE,
            "org": req.get("requester_org")}


def _request_target(req):
    return {"kind": "request", "request": req["request_id"], "patient": req["patient_id"]}


# One handler per sealed kind: (db, document, height, when) -> [new notifications] -----------

def _requested(db, req, height, at):
    detail = {"scope": consent.describe_scope(req["scope"]),
              "purpose": PURPOSE_LABELS.get(req.get("purpose"), req.get("purpose")),
              "days": req.get("duration_days"), "one_time": bool(req.get("one_time"))}
    return [inbox.deliver(db, req["patient_id"], height, text.REQUEST, at=at,
                          actor=_requester_actor(req), detail=detail,
                          about={"request": req["request_id"], "patient": req["patient_id"]},
                          target=_request_target(req))]


def _decided(db, req, height, at, detail):
    actor = _patient_actor(db, req["patient_id"])
    return [inbox.deliver(db, recipient, height, text.DECISION, at=at, actor=actor,
                          detail=detail, target=_request_target(req),
                          about={"request": req["request_id"], "patient": req["patient_id"]})
            for recipient in requester_accounts(db, req.get("requester_kind"),
                                                req.get("requester_id"))]


def _approved(db, grant, height, at):
    req = consent.get_request(db, grant.get("request_id")) or {}
    days = (grant["valid_until"] - grant["valid_from"]).days
    asked = req.get("duration_days")
    detail = {"state": consent.APPROVED, "scope": consent.describe_scope(grant["scope"]),
              "days": days, "asked_days": asked, "until": grant["valid_until"],
              "narrowed": bool(req) and grant["scope"] != req.get("scope"),
              "shortened": asked is not None and days < asked}
    request = {"request_id": grant["request_id"], "patient_id": grant["patient_id"],
               "requester_kind": grant["grantee_kind"], "requester_id": grant["grantee_id"]}
    return _decided(db, request, height, at, detail)


def _rejected(db, req, height, at):
    return _decided(db, req, height, at, {"state": consent.REJECTED})


def _cancelled(db, req, height, at):
    return [inbox.deliver(db, req["patient_id"], height, text.WITHDRAWN, at=at,
                          actor=_requester_actor(req), target=_request_target(req),
                          about={"request": req["request_id"], "patient": req["patient_id"]})]


def _grant_ended_or_given(kind):
    def handler(db, grant, height, at):
        actor = _patient_actor(db, grant["patient_id"])
        detail = {"scope": consent.describe_scope(grant["scope"]), "until": grant["valid_until"]}
        target = {"kind": "grant", "grant": grant["grant_id"], "patient": grant["patient_id"]}
        return [inbox.deliver(db, recipient, height, kind, at=at, actor=actor, detail=detail,
                              target=target,
                              about={"grant": grant["grant_id"], "patient": grant["patient_id"]})
                for recipient in requester_accounts(db, grant.get("grantee_kind"),
                                                    grant.get("grantee_id"))]
    handler.__name__ = f"_{kind}"
    return handler


def _read(db, entry, height, at):
    read = {"record": entry["record_id"], "version": entry["version"],
            "type": entry.get("record_type")}
    actor = {"id": entry["viewer_id"], "name": entry.get("viewer_name"),
             "role": entry.get("viewer_role"), "org": entry.get("org_id")}
    note, created = inbox.deliver_read(
        db, entry["patient_id"], height, reader_id=entry["viewer_id"], read=read, actor=actor,
        about={"patient": entry["patient_id"], "reader": entry["viewer_id"]},
        target={"kind": "reads", "viewer": entry["viewer_id"]}, at=at,
        window_hours=_read_window())
    return [note] if created else []


def _read_window():
    return int(current_app.config.get("NOTIFY_READ_GROUP_HOURS") or inbox.READ_GROUP_HOURS)


def _emergency(db, case, height, at):
    actor = {"id": case["doctor_id"], "name": case.get("doctor_name"), "role": users.DOCTOR,
             "org": case.get("org_id")}
    about = {"emergency": case["emergency_id"], "patient": case["patient_id"]}
    target = {"kind": "emergency", "emergency": case["emergency_id"]}
    created = [inbox.deliver(db, case["patient_id"], height, text.EMERGENCY, at=at, actor=actor,
                             about=about, target=target, detail={"until": case["ends_at"]})]
    created += [inbox.deliver(db, auditor, height, text.EMERGENCY_REVIEW, at=at, actor=actor,
                              about=about, target=target, detail={"until": case["ends_at"]})
                for auditor in active_auditors(db)]
    return created


def _dispensed(db, record, height, at):
    dispense = record.get("dispense") or {}
    pharmacist = users.by_human_id(db, dispense.get("by") or "") or {}
    actor = {"id": dispense.get("by"), "name": pharmacist.get("name"), "role": users.PHARMACIST,
             "org": dispense.get("pharmacy")}
    about = {"record": record["record_id"], "version": record["version"],
             "record_type": record.get("type"), "patient": record["patient_id"]}
    return [inbox.deliver(db, record["patient_id"], height, text.DISPENSED, at=at, actor=actor,
                          about=about, target=dict(about, kind="record"))]


def _appointment_party(db, appt, human_id):
    """Who acted: the patient and the doctor as the appointment names them (no lookup), the
    front desk from its account."""
    if human_id == appt["patient_id"]:
        return {"human_id": human_id, "name": appt.get("patient_name"), "role": users.PATIENT}
    if human_id == appt["doctor_id"]:
        return {"human_id": human_id, "name": appt.get("doctor_name"), "role": users.DOCTOR,
                "org_id": appt.get("org_id")}
    return users.by_human_id(db, human_id or "") or {}


def _appointment(action):
    """Tell the other side of the appointment (the doctor of what the patient or the desk
    did, the patient of what the doctor's side did)."""
    def handler(db, appt, height, at):
        entry = appointments.entry_of(appt, action) or {}
        by = _appointment_party(db, appt, entry.get("by"))
        actor = {"id": by.get("human_id"), "name": by.get("name"), "role": by.get("role"),
                 "org": by.get("org_id") if by.get("role") != users.PATIENT else None}
        told = [appt["doctor_id"]] if entry.get("party") == appointments.PATIENT \
            or action == "arrived" else [appt["patient_id"]]
        about = {"appointment": appt["appointment_id"], "patient": appt["patient_id"],
                 "doctor": appt["doctor_id"]}
        return [inbox.deliver(db, recipient, height, text.APPOINTMENT, at=at, actor=actor,
                              about=about, detail={"action": action, "start": entry.get("start")},
                              target={"kind": "appointment",
                                      "appointment": appt["appointment_id"]})
                for recipient in told if recipient != entry.get("by")]
    handler.__name__ = f"_appointment_{action}"
    return handler
def _desk_actor(db, human_id, org_id):
    account = users.by_human_id(db, human_id or "") or {}
    return {"id": human_id, "name": account.get("name"), "role": users.FRONT_DESK, "org": org_id}


def _stay(doc):
    return ({"admission": doc["admission_id"], "patient": doc["patient_id"]},
            {"kind": "admission", "admission": doc["admission_id"]})


def _admitted(db, doc, height, at):
    about, target = _stay(doc)
    actor = _desk_actor(db, (doc.get("admitted") or {}).get("by"), doc["org_id"])
    detail = {"ward": doc["ward"], "bed": doc["bed"], "at": doc["admitted_at"]}
    return [inbox.deliver(db, doc["patient_id"], height, text.ADMITTED, at=at, actor=actor,
                          about=about, target=target, detail=detail)]


def _discharged(db, doc, height, at):
    about, target = _stay(doc)
    out = doc.get("discharge") or {}
    actor = _desk_actor(db, out.get("by"), doc["org_id"])
    return [inbox.deliver(db, doc["patient_id"], height, text.DISCHARGED, at=at, actor=actor,
                          about=about, target=target, detail={"at": out.get("at")}),
            inbox.deliver(db, doc["attending"], height, text.SUMMARY_DUE, at=at, actor=actor,
                          about=about, target=dict(target, kind="summary-due"))]
def _directory_changed(db, entry, height, at):
    """A manager changed a doctor's entry: the doctor is told (their own edits tell nobody)."""
    if entry.get("by") == entry.get("doctor_id"):
        return []
    editor = users.by_human_id(db, entry.get("by") or "") or {}
    actor = {"id": entry.get("by"), "name": editor.get("name"), "role": editor.get("role"),
             "org": editor.get("org_id")}
    about = {"doctor": entry["doctor_id"], "version": entry["version"]}
    return [inbox.deliver(db, entry["doctor_id"], height, text.DIRECTORY_CHANGED, at=at,
                          actor=actor, about=about, target=dict(about, kind="directory"))]


def _study_decided(db, study, height, at):
    decision = study.get("decision") or {}
    admin = users.by_human_id(db, decision.get("by") or "") or {}
    actor = {"id": decision.get("by"), "name": admin.get("name"), "role": admin.get("role")}
    return [inbox.deliver(db, study["researcher_id"], height, text.STUDY_DECIDED, at=at,
                          actor=actor, about={"study": study["study_id"]},
                          detail={"status": study["status"]},
                          target={"kind": "study", "study": study["study_id"]})]


def _sign_in_security(db, event, height, at):
    """A change to someone's second factor: they are told (a reset or a recovery code they did
    not use themselves is how a stolen account shows)."""
    by = users.by_human_id(db, event.get("by") or "") or {}
    actor = {"id": event.get("by"), "name": by.get("name"), "role": by.get("role")}
    return [inbox.deliver(db, event["subject_id"], height, text.SECURITY, at=at, actor=actor,
                          detail={"event": event["kind"],
                                  "remaining": (event.get("details") or {}).get("remaining")},
                          target={"kind": "security"})]


HANDLERS = {
    consent.REQUESTED: _requested,
    consent.APPROVED_KIND: _approved,
    consent.REJECTED_KIND: _rejected,
    consent.CANCELLED_KIND: _cancelled,
    consent.GRANTED_KIND: _grant_ended_or_given(text.GRANTED),
    consent.REVOKED_KIND: _grant_ended_or_given(text.REVOKED),
    audit_trail.READ_KIND: _read,
    emergency.OPENED_KIND: _emergency,
    pharmacy.DISPENSED_KIND: _dispensed,
    **{row.kind: _appointment(row.action) for row in appointments.TABLE},
    admission_seals.ADMITTED_KIND: _admitted,
    admission_seals.DISCHARGED_KIND: _discharged,
    doctor_directory.UPDATED: _directory_changed,
    studies.APPROVED_KIND: _study_decided,
    studies.REJECTED_KIND: _study_decided,
    **{kind: _sign_in_security for kind in two_factor_events.KINDS},
}


# Replay ----------------------------------------------------------------------------------------

def replay(db, first, last=None):
    """Deliver again what the blocks in [first, last) notify (after a crash lost some): each
    block's document is found by its indexed sealing height; already delivered ones are
    skipped. Returns (blocks looked at, notifications created)."""
    seen = created = 0
    for block in store_for(db).iter_blocks(first, last):
        seen += 1
        event = registry.DECLARED.get(block.get("kind"))
        if event is None or event.kind not in HANDLERS or not event.sealed_at:
            continue
        doc = db[event.collection].find_one({event.sealed_at: block["height"]})
        if doc is not None:
            created += len(on_change(event.kind, doc, block, db))
    return seen, created
