"""Studies: a researcher registers one, an administrator approves or rejects it, both sealed.

A study names what it may ever receive: fields from the catalogue (models.research.
catalogue), a cohort filter, the k of its k-anonymity gate (at least 5) and the largest share
of rows the gate may suppress before the export is refused. None of it can change after
registration: a study that needs other fields is registered again, and approved again.

pending → approved | rejected, each transition a compare-and-set on the status read (a second
decision is a Conflict), with a reason, kept in the study's history and sealed as
`research.study_<action>` with hashes of the texts (title, purpose, ethics reference, reason)
and the fields, cohort, k and share in the clear. The study document decides what an export
may contain and who may download it, so it carries an authority MAC (a study edited in
MongoDB decides nothing).
"""
import hashlib
import json

from models.core import ids
from models.core.clock import now_ms, ts
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.people import organizations, users
from models.research import catalogue
from models.sealing import registry
from models.sealing.registry import EventKind
from models.sealing.seam import merge, new_salts, pending_fields, pending_update, seal_pending
from models.storage import authority

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
STATUS_LABELS = {PENDING: "Waiting for approval", APPROVED: "Approved", REJECTED: "Rejected"}
REGISTERED_KIND = "research.study_registered"
APPROVED_KIND = "research.study_approved"
REJECTED_KIND = "research.study_rejected"
ACTIONS = {"registered": (REGISTERED_KIND, None, PENDING),
           "approved": (APPROVED_KIND, PENDING, APPROVED),
           "rejected": (REJECTED_KIND, PENDING, REJECTED)}
"""action -> (kind, from status, to status)."""
DECIDERS = (users.ADMIN,)
"""Who approves or rejects a study (an administrator; see docs/research.md)."""
MAX_TITLE, MAX_PURPOSE, MAX_ETHICS, MAX_REASON = 200, 2000, 100, 1000
DEFAULT_K, DEFAULT_SUPPRESSION = 5, 10
LIST_LIMIT = 500

AUTHORITY = (authority.Protected(
    "studies", ("study_id", "status", "researcher_id", "org_id", "fields", "cohort", "k",
                "max_suppression", "decision.by", "decision.action"),
    name=lambda doc: doc.get("study_id")),)
INDEXES = {
    "studies": [
        ([("study_id", 1)], {"unique": True}),
        ([("researcher_id", 1), ("registered_at", -1)], {}),
        ([("status", 1), ("registered_at", -1)], {}),
    ],
}


# Input rules ----------------------------------------------------------------------------------

def _text(value, field, label, low, high, errors):
    text = " ".join(str(value or "").split())
    if not low <= len(text) <= high:
        errors[field] = f"Write the {label} in {low} to {high} characters."
    return text


def _int(value, field, low, high, message, errors):
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        errors[field] = message
    return number


def clean(*, title, purpose, ethics_ref, fields, record_types_chosen, year_from, year_to,
          diagnosis_prefixes="", k=DEFAULT_K, max_suppression=DEFAULT_SUPPRESSION):
    """The study's content as stored, or InvalidInput naming every bad field at once."""
    errors = {}
    values = {
        "title": _text(title, "title", "title", 5, MAX_TITLE, errors),
        "purpose": _text(purpose, "purpose", "purpose", 20, MAX_PURPOSE, errors),
        "ethics_ref": _text(ethics_ref, "ethics_ref", "ethics approval reference", 3,
                            MAX_ETHICS, errors),
        "k": _int(k, "k", catalogue.MIN_K, catalogue.MAX_K,
                  f"k is a whole number from {catalogue.MIN_K} to {catalogue.MAX_K}.", errors),
        "max_suppression": _int(max_suppression, "max_suppression", 0,
                                catalogue.MAX_SUPPRESSION_PERCENT,
                                "The share is a whole per cent from 0 to "
                                f"{catalogue.MAX_SUPPRESSION_PERCENT}.", errors),
    }
    for name, check in (("fields", lambda: catalogue.clean_fields(fields)),
                        ("cohort", lambda: catalogue.clean_cohort(
                            record_types_chosen=record_types_chosen, year_from=year_from,
                            year_to=year_to, diagnosis_prefixes=diagnosis_prefixes))):
        try:
            values[name] = check()
        except InvalidInput as exc:
            errors.update(exc.field_errors)
    if errors:
        raise InvalidInput("Check the highlighted fields.", errors)
    return values


def text_hash(text):
    return hashlib.sha256(text.encode()).hexdigest() if text else None


def cohort_text(cohort):
    return json.dumps(cohort, sort_keys=True, separators=(",", ":"))


# Reading --------------------------------------------------------------------------------------

def get(db, study_id):
    """The study, if authentic (one changed outside the app decides nothing), else None."""
    return authority.authentic("studies", db.studies.find_one(
        {"study_id": str(study_id or "").strip().upper()}))


def require(db, study_id):
    study = get(db, study_id)
    if study is None:
        raise NotFound("There is no such study.")
    return study


def is_researcher_of(actor, study):
    return actor.get("role") == users.RESEARCHER and actor.get("human_id") == study.get(
        "researcher_id")


def for_researcher(db, researcher_id):
    """A researcher's own studies, newest first (bounded)."""
    return list(db.studies.find({"researcher_id": researcher_id},
                                sort=[("registered_at", -1)], limit=LIST_LIMIT))


def listing(db, status=None):
    """Studies for administrators and auditors, newest first; one status or all."""
    query = {"status": status} if status else {}
    return list(db.studies.find(query, sort=[("registered_at", -1)], limit=LIST_LIMIT))


def approved(db):
    """Approved studies (authentic only): what a patient may opt into by name."""
    return [study for study in listing(db, APPROVED)
            if authority.authentic("studies", study) is not None]


def own(db, actor, study_id):
    """One of the researcher's own studies; anyone else's is simply not found."""
    study = get(db, study_id)
    if study is None or not is_researcher_of(actor, study):
        raise NotFound("There is no such study of yours.")
    return study


# Sealed attributes ----------------------------------------------------------------------------

def entry_of(study, action):
    for entry in reversed(study.get("history") or []):
        if entry.get("action") == action:
            return entry
    return None


def attributes(study, entry):
    return {"study": study["study_id"], "researcher": study["researcher_id"],
            "organization": study.get("org_id"), "from": entry["from"], "to": entry["to"],
            "by": entry["by"], "at": ts(entry["at"]),
            "title_sha256": text_hash(study["title"]),
            "purpose_sha256": text_hash(study["purpose"]),
            "ethics_ref_sha256": text_hash(study["ethics_ref"]),
            "fields": ",".join(study["fields"]),
            "cohort_sha256": text_hash(cohort_text(study["cohort"])),
            "k": study["k"], "max_suppression": study["max_suppression"],
            "reason_sha256": text_hash(entry.get("reason") or "")}


def _entry(action, actor, now, reason=None):
    _, source, target = ACTIONS[action]
    return {"action": action, "from": source, "to": target, "by": actor["human_id"],
            "at": now, "reason": reason}


# Registering and deciding ---------------------------------------------------------------------

def _researcher_org(db, researcher):
    if researcher.get("role") != users.RESEARCHER or not researcher.get("active", True):
        raise Forbidden("Only researchers register studies.")
    org = organizations.get(db, researcher.get("org_id") or "")
    if org is None or not org.get("active", True) \
            or users.RESEARCHER not in organizations.member_roles(org):
        raise Forbidden("Your organization cannot register studies.")
    return org


def register(db, *, researcher, title, purpose, ethics_ref, fields, record_types_chosen,
             year_from, year_to, diagnosis_prefixes="", k=DEFAULT_K,
             max_suppression=DEFAULT_SUPPRESSION, now=None):
    """A new study, pending approval, sealed (`research.study_registered`)."""
    org = _researcher_org(db, researcher)
    values = clean(title=title, purpose=purpose, ethics_ref=ethics_ref, fields=fields,
                   record_types_chosen=record_types_chosen, year_from=year_from,
                   year_to=year_to, diagnosis_prefixes=diagnosis_prefixes, k=k,
                   max_suppression=max_suppression)
    now = now or now_ms()
    study = dict(values, study_id=ids.next_id(db, "study"), status=PENDING,
                 researcher_id=researcher["human_id"], researcher_name=researcher.get("name"),
                 org_id=org["human_id"], org_name=org.get("name"), registered_at=now,
                 decision=None, sealed_height=None, seals={})
    study["history"] = [_entry("registered", researcher, now)]
    salts = new_salts(attributes(study, study["history"][0]))
    db.studies.insert_one(authority.stamp("studies", pending_fields(study, REGISTERED_KIND,
                                                                    salts)))
    seal_pending(db, REGISTERED_KIND, study, researcher,
                 attributes(study, study["history"][0]), salts)
    return study


def clean_decision(action, reason):
    """(action, reason) of a decision, or InvalidInput naming both problems at once."""
    errors = {}
    if action not in ("approved", "rejected"):
        errors["decision"] = "Choose to approve or to reject the study."
    text = _text(reason, "reason", "reason", 3, MAX_REASON, errors)
    if errors:
        raise InvalidInput("Check the decision.", errors)
    return action, text


def decide(db, *, actor, study_id, action, reason, now=None):
    """Approve or reject a pending study, with a reason: once, sealed."""
    if actor.get("role") not in DECIDERS:
        raise Forbidden("Only an administrator approves or rejects studies.")
    study = require(db, study_id)
    if study["status"] != PENDING:
        raise Conflict(f"This study was already {study['status']}.")
    action, reason = clean_decision(action, reason)
    kind, source, target = ACTIONS[action]
    now = now or now_ms()
    entry = _entry(action, actor, now, reason)
    salts = new_salts(attributes(study, entry))
    changed = authority.transition(db.studies, {"_id": study["_id"], "status": source}, merge(
        {"$set": {"status": target, "updated_at": now,
                  "decision": {"action": action, "by": actor["human_id"], "at": now,
                               "reason": reason}},
         "$push": {"history": entry}}, pending_update(kind, salts)), current=study)
    if changed is None:
        raise Conflict("This study was decided in the meantime: reload the page.")
    seal_pending(db, kind, changed, actor, attributes(changed, entry_of(changed, action)), salts)
    return changed


def approve(db, *, actor, study_id, reason, now=None):
    return decide(db, actor=actor, study_id=study_id, action="approved", reason=reason, now=now)


def reject(db, *, actor, study_id, reason, now=None):
    return decide(db, actor=actor, study_id=study_id, action="rejected", reason=reason, now=now)


def approval_height(study):
    """The height of the block that approved the study (what an export cites), or None."""
    return ((study.get("seals") or {}).get("approved") or {}).get("height")


# What the audit rebuilds and reconcile finishes -----------------------------------------------

def _rebuild(db, block, data_key, prefetched=None):
    return registry.rebuild_history_entry(
        db, block, prefetched, collection="studies", id_field="study_id", subject_key="study",
        action=str(block.get("kind", "")).split("_", 1)[-1], entry_of=entry_of,
        attributes=attributes)


def _sealed(action):
    def sealed(db, data_key, study):
        entry = entry_of(study, action)
        if entry is None:
            return None
        return attributes(study, entry), ((study.get("seals") or {}).get(action) or {}).get(
            "salts", {})
    return sealed


def _actor(action):
    def actor(db, study):
        return users.by_human_id(db, (entry_of(study, action) or {}).get("by") or "")
    return actor


def _remove_unfinished(db, study):
    db.studies.delete_one({"_id": study["_id"], "sealed_height": None})


def coverage(db):
    """Each study is sealed, and so is each decision in its history."""
    for study in db.studies.find({}, {"study_id": 1, "history.action": 1, "seals": 1}):
        for entry in study.get("history") or []:
            action = entry.get("action")
            height = registry.field_of(study, f"seals.{action}.height")
            yield "studies", f"{study['study_id']} {action}", height


def _event(action):
    kind = ACTIONS[action][0]
    first = action == "registered"
    return EventKind(kind, "studies", f"seals.{action}.height", _rebuild,
                     creates_document=first, subject=lambda doc: {"study": doc["study_id"]},
                     salts_at=f"seals.{action}.salts",
                     also_at=("sealed_height",) if first else (), actor=_actor(action),
                     sealed=_sealed(action), rollback=_remove_unfinished if first else None,
                     label=lambda doc: f"{doc['study_id']} {action}")


EVENTS = tuple(_event(action) for action in ACTIONS)
COVERAGE = (coverage,)
