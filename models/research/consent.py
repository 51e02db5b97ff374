"""Each patient's research choice: out by default; in for all research, or for named studies.

A choice is never edited: each change inserts the patient's next version (a unique
(patient, version) index makes two simultaneous changes one success and one Conflict),
protected by an authority MAC and sealed as `research.consent_changed`. The current choice
is the highest version; no version at all means out.

    out    no study receives the patient's data
    all    every approved study does, except those in `excluded` (the patient left them)
    named  only the approved studies in `studies`

`participants(db, study)` is the one question an export asks: who is in for this study now.
It fails closed: a version changed outside the app, or still waiting for its block, counts
as out (so an opt-out is in force the moment it is written, an opt-in once it is sealed).
"""
from pymongo.errors import DuplicateKeyError

from models.core.clock import now_ms, ts
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.people import users
from models.research import studies
from models.sealing import registry
from models.sealing.registry import EventKind
from models.sealing.seam import is_pending, new_salts, pending_fields, seal_pending
from models.storage import authority

CHANGED_KIND = "research.consent_changed"
OUT, ALL, NAMED = "out", "all", "named"
CHOICES = (OUT, ALL, NAMED)
CHOICE_LABELS = {OUT: "Not taking part in research",
                 ALL: "Taking part in every approved study",
                 NAMED: "Taking part in the studies named below"}
VERSION_LIMIT = 1000
DECIDING = {"patient_id": 1, "version": 1, "choice": 1, "studies": 1, "excluded": 1,
            "changed_by": 1, authority.FIELD: 1, registry.PENDING: 1}
"""What `participants` reads of each version: the MAC'd fields, the MAC, the pending marker."""
DEFAULT = {"choice": OUT, "studies": [], "excluded": [], "version": 0}

AUTHORITY = (authority.Protected(
    "research_consents", ("patient_id", "version", "choice", "studies", "excluded",
                          "changed_by"),
    name=lambda doc: f"{doc.get('patient_id')} v{doc.get('version')}"),)
INDEXES = {
    "research_consents": [
        ([("patient_id", 1), ("version", 1)], {"unique": True}),
        ([("choice", 1)], {}),
        ([("studies", 1)], {}),
    ],
}


# Reading --------------------------------------------------------------------------------------

def _latest(db, patient_id):
    versions = list(db.research_consents.find({"patient_id": patient_id}, limit=VERSION_LIMIT))
    return max(versions, key=lambda doc: doc["version"]) if versions else None


def _in_force(doc):
    """The choice a stored version puts in force: out if it was forged or is still pending."""
    if doc is None or is_pending(doc) or authority.authentic("research_consents", doc) is None:
        return None
    return doc


def current(db, patient_id):
    """{choice, studies, excluded, version, ...} of the patient's choice now (out by default;
    a forged or unsealed latest version is out too, with its version kept for the next
    change)."""
    latest = _latest(db, patient_id)
    doc = _in_force(latest)
    if doc is not None:
        return doc
    return dict(DEFAULT, version=latest["version"] if latest else 0)


def participates(choice, study_id):
    """Whether a choice (a consent version or `current`'s answer) includes the study."""
    if choice["choice"] == ALL:
        return study_id not in (choice.get("excluded") or [])
    if choice["choice"] == NAMED:
        return study_id in (choice.get("studies") or [])
    return False


def participants(db, study):
    """The ids of the patients who are in for this study now (study document or id), sorted:
    all-research opt-ins not excluded from it and named opt-ins, at their latest version.

    One pass over the consent versions (one small document per change) keeps the latest of
    each patient; only an authentic, sealed latest version counts."""
    study_id = study["study_id"] if isinstance(study, dict) else str(study or "")
    latest = {}
    for doc in db.research_consents.find({}, DECIDING):
        seen = latest.get(doc["patient_id"])
        if seen is None or doc["version"] > seen["version"]:
            latest[doc["patient_id"]] = doc
    return iter(sorted(patient_id for patient_id, doc in latest.items()
                       if _in_force(doc) is not None and participates(doc, study_id)))


def history(db, patient_id):
    """The patient's versions, newest first (what their sharing page lists)."""
    return sorted(db.research_consents.find({"patient_id": patient_id}, limit=VERSION_LIMIT),
                  key=lambda doc: doc["version"], reverse=True)


# Changing -------------------------------------------------------------------------------------

def attributes(doc):
    return {"patient": doc["patient_id"], "version": doc["version"], "choice": doc["choice"],
            "studies": ",".join(doc["studies"]), "excluded": ",".join(doc["excluded"]),
            "changed_by": doc["changed_by"], "changed_at": ts(doc["changed_at"])}


def _patient(actor):
    if actor.get("role") != users.PATIENT:
        raise Forbidden("Only patients make their own research choice.")
    return actor["human_id"]


def _write(db, patient, before, choice, chosen, excluded):
    chosen, excluded = sorted(set(chosen)), sorted(set(excluded))
    if choice == NAMED and not chosen:
        choice = OUT
    if choice != ALL:
        excluded = []
    if choice != NAMED:
        chosen = []
    if (choice, chosen, excluded) == (before["choice"], list(before.get("studies") or []),
                                      list(before.get("excluded") or [])):
        raise Conflict("That is already your choice: nothing was changed.")
    doc = {"patient_id": patient["human_id"], "version": before["version"] + 1,
           "choice": choice, "studies": chosen, "excluded": excluded,
           "changed_by": patient["human_id"], "changed_at": now_ms(), "sealed_height": None}
    salts = new_salts(attributes(doc))
    try:
        db.research_consents.insert_one(authority.stamp(
            "research_consents", pending_fields(doc, CHANGED_KIND, salts)))
    except DuplicateKeyError:
        raise Conflict("Your choice changed at the same moment elsewhere; reload and try "
                       "again.") from None
    seal_pending(db, CHANGED_KIND, doc, patient, attributes(doc), salts)
    return doc


def set_choice(db, *, patient, choice):
    """In for all research (`all`) or out of all of it (`out`: named studies too)."""
    _patient(patient)
    if choice not in (ALL, OUT):
        raise InvalidInput("Choose to take part in all research or in none.",
                           {"choice": "Choose all research or none."})
    before = current(db, patient["human_id"])
    return _write(db, patient, before, choice, [], [])


def join_study(db, *, patient, study_id):
    """In for one approved study (by name); for an all-research patient, undo leaving it."""
    _patient(patient)
    study = studies.get(db, study_id)
    if study is None or study["status"] != studies.APPROVED:
        raise NotFound("There is no such approved study.")
    before = current(db, patient["human_id"])
    sid = study["study_id"]
    if before["choice"] == ALL:
        return _write(db, patient, before, ALL, [],
                      [each for each in before["excluded"] if each != sid])
    return _write(db, patient, before, NAMED, list(before["studies"]) + [sid], [])


def leave_study(db, *, patient, study_id):
    """Out of one study, whatever else the patient chose (revocable any time)."""
    _patient(patient)
    sid = str(study_id or "").strip().upper()
    before = current(db, patient["human_id"])
    if not participates(before, sid):
        raise Conflict("You are not taking part in this study.")
    if before["choice"] == ALL:
        return _write(db, patient, before, ALL, [], list(before["excluded"]) + [sid])
    return _write(db, patient, before, NAMED,
                  [each for each in before["studies"] if each != sid], [])


# What the audit rebuilds and reconcile finishes -----------------------------------------------

def _rebuild(db, block, data_key, prefetched=None):
    subject = block.get("subject") or {}
    patient_id, version = subject.get("patient"), subject.get("version")
    if not isinstance(patient_id, str) or not isinstance(version, int) \
            or isinstance(version, bool):
        return None
    doc = registry.take(prefetched, block,
                        lambda doc: registry.same(doc.get("patient_id"), patient_id)
                        and registry.same(doc.get("version"), version))
    if doc is None:
        doc = db.research_consents.find_one({"patient_id": patient_id, "version": version})
    return (attributes(doc), doc.get("seal_salts") or {}) if doc else None


def coverage(db):
    for doc in db.research_consents.find({}, {"patient_id": 1, "version": 1,
                                              "sealed_height": 1}):
        yield ("research_consents", f"{doc['patient_id']} v{doc['version']}",
               doc.get("sealed_height"))


EVENTS = (EventKind(
    CHANGED_KIND, "research_consents", "sealed_height", _rebuild, creates_document=True,
    subject=lambda doc: {"patient": doc["patient_id"], "version": doc["version"]},
    salts_at="seal_salts",
    actor=lambda db, doc: users.by_human_id(db, doc.get("changed_by") or ""),
    sealed=lambda db, key, doc: (attributes(doc), doc.get("seal_salts") or {}),
    label=lambda doc: f"{doc['patient_id']} v{doc['version']}"),)
COVERAGE = (coverage,)
