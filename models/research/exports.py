"""The export of an approved study: de-identified, k-anonymous, sealed, downloaded once.

Who: only the patients `consent.participants` names at the moment of the export (an opt-out
is in force at once), and of those only the ones the cohort filter selects. What: one row per
patient, only the study's catalogue fields, each through its Safe Harbor form (deidentify),
then the k-anonymity gate (kanon), which generalises and suppresses or refuses. Each kept row
gets a fresh random subject id; the id → patient mapping is kept here (`research_subjects`)
and never leaves. Rows are shuffled, so their order says nothing about patient numbers.

The package (data CSV, data dictionary CSV, a small JSON about the export) is stored with the
export; its CSV's SHA-256, the field list, the k reached, ℓ, the patient count and the
approving decision (who approved, the block that sealed it) are sealed as
`research.export_created`. The study's researcher downloads it once, before it expires: one
compare-and-set that also drops the package, sealed as `research.export_downloaded`.
Auditors list every export.

One row per patient (not per record), so each equivalence class of k rows is k people. A
diagnosis-based field describes the patient's index diagnosis (the earliest one in the
cohort's years that matches its codes); any other record field, the latest record of its type
in those years that has the value; profile fields, the patient's profile today.
"""
import csv
import hashlib
import io
import json
import secrets
import zipfile
from datetime import timedelta

from bson import Binary

from models.clinical import records
from models.core import ids
from models.core import record_types as types
from models.core.clock import now_ms, ts
from models.core.errors import Conflict, Forbidden, NotFound
from models.people import users
from models.research import aggregates, catalogue, consent, deidentify, kanon, studies
from models.sealing import registry
from models.sealing.registry import EventKind
from models.sealing.seam import merge, new_salts, pending_fields, pending_update, seal_pending
from models.storage import authority

CREATED_KIND = "research.export_created"
DOWNLOADED_KIND = "research.export_downloaded"
DOWNLOAD_WINDOW = timedelta(days=7)
CHUNK = 500
LIST_LIMIT = 500
SUBJECT = "subject_id"
FORMAT = "medledger-research-export/1"
DATE_FIELDS = {types.DIAGNOSIS: "onset", types.LAB_REPORT: "collected_on",
               types.IMAGING: "performed_on", types.ALLERGY: "onset",
               types.IMMUNIZATION: "administered_on"}
"""The clinical date of a record type (a record without one is dated by its writing)."""
SUMMARY = {"export_id": 1, "study_id": 1, "researcher_id": 1, "created_at": 1, "expires_at": 1,
           "csv_sha256": 1, "fields": 1, "k": 1, "k_reached": 1, "l_diversity": 1,
           "patients": 1, "suppressed": 1, "cohort_size": 1, "downloaded_at": 1,
           "downloaded_by": 1, "approval": 1, "levels": 1, "auth": 1, "sealed_height": 1,
           "seals": 1, "pending_seals": 1}
"""Everything but the package itself (what lists show)."""

AUTHORITY = (authority.Protected(
    "research_exports", ("export_id", "study_id", "researcher_id", "csv_sha256", "expires_at",
                         "downloaded_at", "downloaded_by"),
    name=lambda doc: doc.get("export_id")),)
"""Who may download, until when, and whether it happened: MAC'd, so that an export edited in
MongoDB (to another researcher, a later expiry, "not yet downloaded") gives nothing out."""
INDEXES = {
    "research_exports": [([("export_id", 1)], {"unique": True}),
                         ([("study_id", 1), ("created_at", -1)], {}),
                         ([("created_at", -1)], {})],
    "research_subjects": [([("export_id", 1), ("subject_id", 1)], {"unique": True}),
                          ([("patient_id", 1)], {})],
}


# The rows -----------------------------------------------------------------------------------

def record_year(doc, data):
    field = DATE_FIELDS.get(doc["type"])
    year = deidentify.year_of(data.get(field)) if field else deidentify.UNKNOWN
    return int(year) if year.isdigit() else doc["created_at"].year


def _chunks(items):
    items = list(items)
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _profiles(db, patient_ids):
    found = {}
    for chunk in _chunks(patient_ids):
        for doc in db.users.find({"human_id": {"$in": chunk}, "role": users.PATIENT},
                                 {"human_id": 1, "profile": 1}):
            found[doc["human_id"]] = doc.get("profile") or {}
    return found


def _records(db, key, study, members):
    """{patient: [(year, type, values, created_at)]} of the members' current records of the
    types the study reads, dated within its years (each record's envelope authentic)."""
    cohort = study["cohort"]
    wanted = set(cohort["record_types"]) | {spec.source for spec in catalogue.describe(
        study["fields"]) if spec.source != catalogue.PROFILE}
    if cohort.get("diagnosis_prefixes"):  # the codes decide who is in, whatever the types
        wanted.add(types.DIAGNOSIS)
    first, last = cohort["years"]
    found = {}
    query = {"type": {"$in": sorted(wanted)}, "status": records.FINAL}
    for doc in db.records.find(query):
        if doc["patient_id"] not in members or authority.authentic("records", doc) is None:
            continue
        data = records.data_of(key, doc)
        year = record_year(doc, data)
        if first <= year <= last:
            found.setdefault(doc["patient_id"], []).append(
                (year, doc["type"], data, doc["created_at"]))
    return found


def _in_cohort(cohort, items):
    if not any(catalogue.record_matches(cohort, kind, year) for year, kind, _, _ in items):
        return False
    if not cohort.get("diagnosis_prefixes"):
        return True
    return _index_diagnosis(cohort, items) is not None


def _index_diagnosis(cohort, items):
    diagnoses = [item for item in items if item[1] == types.DIAGNOSIS
                 and catalogue.code_matches(cohort, item[2].get("code"))]
    return min(diagnoses, key=lambda item: (item[0], item[3]), default=None)


def _latest(items, source, field):
    having = [item for item in items if item[1] == source and item[2].get(field) is not None]
    return max(having, key=lambda item: item[3], default=None)


def row(study, profile, items, today):
    """One patient's row: {field key: exported string}."""
    index = _index_diagnosis(study["cohort"], items)
    out = {}
    for spec in catalogue.describe(study["fields"]):
        if spec.source == catalogue.PROFILE:
            out[spec.key] = deidentify.cell(spec, profile, today)
            continue
        item = index if spec.source == types.DIAGNOSIS else _latest(
            items, spec.source, "blood_group_abo" if spec.form == "blood_group"
            else spec.source_field)
        data = dict(item[2]) if item else {}
        if item and spec.form == "year" and data.get(spec.source_field) is None:
            data[spec.source_field] = f"{item[0]:04d}-01-01"  # dated by its writing: the year
        out[spec.key] = deidentify.cell(spec, data, today)
    return out


def cohort_rows(db, key, study, today):
    """[(patient id, row)] of the current participants in the study's cohort."""
    members = set(consent.participants(db, study))
    found = _records(db, key, study, members)
    profiles = _profiles(db, sorted(found))
    return [(patient, row(study, profiles[patient], items, today))
            for patient, items in sorted(found.items())
            if patient in profiles and _in_cohort(study["cohort"], items)]


def participating(db, patient, study_id):
    """An approved study the patient takes part in now (what they may see the counts of);
    NotFound otherwise."""
    study = studies.get(db, study_id)
    if study is None or study["status"] != studies.APPROVED or patient.get("role") != \
            users.PATIENT or not consent.participates(consent.current(db, patient["human_id"]),
                                                      study["study_id"]):
        raise NotFound("There is no such study you take part in.")
    return study


def aggregate(db, key, study):
    """Patients by diagnosis group (ICD-10 category) and year of the approved study's current
    participants, cells under the study's k withheld (aggregates.suppress)."""
    if study["status"] != studies.APPROVED:
        raise Conflict("Only an approved study has aggregate counts.")
    members = set(consent.participants(db, study))
    facts = [(patient, deidentify.diagnosis_group(data.get("code")), str(year))
             for patient, items in _records(db, key, study, members).items()
             for year, kind, data, _ in items
             if kind == types.DIAGNOSIS and catalogue.code_matches(study["cohort"],
                                                                   data.get("code"))]
    return aggregates.suppress(aggregates.counts(facts), study["k"])


# The package --------------------------------------------------------------------------------

def _csv(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def rule(spec):
    """Which of the patient's data a column describes (one row per patient)."""
    if spec.source == catalogue.PROFILE:
        return "the patient's profile at the export"
    if spec.source == types.DIAGNOSIS:
        return "the index diagnosis: the earliest in the cohort's years matching its codes"
    return "the latest record of this type in the cohort's years that has the value"


def dictionary(study, levels, values):
    header = ["column", "label", "kind", "form", "source", "row_rule", "generalisation_level",
              "values", "description"]
    lines = [[SUBJECT, "Subject", "random id", "", "drawn for this export only", "", "", "",
              "A random id per patient and export; not derived from any patient data."]]
    for spec in catalogue.describe(study["fields"]):
        lines.append([spec.key, spec.label, spec.kind, spec.form, spec.source_label, rule(spec),
                      levels.get(spec.key, ""), "; ".join(sorted(values.get(spec.key, ()))),
                      spec.description])
    return _csv(header, lines)


def _package(export_id, study, data_csv, dictionary_csv, about):
    """A zip whose bytes depend only on its contents (fixed timestamps)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in ((f"{export_id}.csv", data_csv),
                              (f"{export_id}-dictionary.csv", dictionary_csv),
                              (f"{export_id}.json", json.dumps(about, indent=2).encode())):
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content)
    return out.getvalue()


# Creating -----------------------------------------------------------------------------------

def created_attributes(doc):
    approval = doc["approval"]
    return {"export": doc["export_id"], "study": doc["study_id"],
            "researcher": doc["researcher_id"], "created_at": ts(doc["created_at"]),
            "expires_at": ts(doc["expires_at"]), "csv_sha256": doc["csv_sha256"],
            "fields": ",".join(doc["fields"]), "k": doc["k"], "k_reached": doc["k_reached"],
            "l_diversity": doc["l_diversity"], "patients": doc["patients"],
            "suppressed": doc["suppressed"], "approved_by": approval["by"],
            "approved_at": ts(approval["at"]), "approval_height": approval["height"]}


def _approved_study(db, researcher, study_id):
    if researcher.get("role") != users.RESEARCHER:
        raise Forbidden("Only the study's researcher exports its data.")
    study = studies.own(db, researcher, study_id)
    if study["status"] != studies.APPROVED or studies.approval_height(study) is None:
        raise Conflict("Only an approved study can be exported.")
    return study


def create(db, key, *, researcher, study_id, now=None):
    """Build, gate, store and seal an export of the researcher's approved study; Refused
    (409) with the reason when the cohort is too small or too unique."""
    study = _approved_study(db, researcher, study_id)
    now = now or now_ms()
    drop_expired(db, now)
    pairs = cohort_rows(db, key, study, now.date())
    fields = list(catalogue.describe(study["fields"]))
    quasi = {spec.key: spec.form for spec in fields
             if spec.kind == catalogue.QUASI and spec.form in kanon.QUASI_FORMS}
    sensitive = [spec.key for spec in fields if spec.kind == catalogue.SENSITIVE]
    result = kanon.gate([each for _, each in pairs], quasi=quasi, k=study["k"],
                        max_suppressed_share=study["max_suppression"] / 100,
                        sensitive=sensitive)
    kept = result.frame.to_dict("records")
    secrets.SystemRandom().shuffle(kept)
    export_id = ids.next_id(db, "export")
    subjects, lines = [], []
    keys = [spec.key for spec in fields]
    values = {name: set() for name in keys}
    for each in kept:
        subject = deidentify.new_subject_id()
        subjects.append({"export_id": export_id, "subject_id": subject,
                         "patient_id": pairs[each[kanon.ROW]][0]})
        lines.append([subject] + [each[name] for name in keys])
        for name in keys:
            values[name].add(each[name])
    data_csv = _csv([SUBJECT] + keys, lines)
    digest = hashlib.sha256(data_csv).hexdigest()
    decision = study.get("decision") or {}
    approval = {"by": decision.get("by"), "at": decision.get("at"),
                "height": studies.approval_height(study)}
    doc = {"export_id": export_id, "study_id": study["study_id"],
           "researcher_id": researcher["human_id"], "created_at": now,
           "expires_at": now + DOWNLOAD_WINDOW, "csv_sha256": digest, "fields": keys,
           "k": study["k"], "k_reached": result.k, "l_diversity": result.l_diversity,
           "patients": len(kept), "suppressed": result.suppressed, "cohort_size": result.total,
           "levels": result.levels, "approval": approval, "downloaded_at": None,
           "downloaded_by": None, "sealed_height": None, "seals": {}}
    about = {"format": FORMAT, "export": export_id, "study": study["study_id"],
             "csv_sha256": digest, "k": study["k"], "k_reached": result.k,
             "l_diversity": result.l_diversity, "sensitive_columns": sensitive,
             "patients": len(kept), "suppressed": result.suppressed,
             "generalisation_levels": result.levels, "approval_block": approval["height"]}
    doc["package"] = Binary(_package(export_id, study, data_csv,
                                     dictionary(study, result.levels, values), about))
    if subjects:
        db.research_subjects.insert_many(subjects)
    salts = new_salts(created_attributes(doc))
    db.research_exports.insert_one(authority.stamp("research_exports",
                                                   pending_fields(doc, CREATED_KIND, salts)))
    seal_pending(db, CREATED_KIND, doc, researcher, created_attributes(doc), salts)
    return doc


def drop_expired(db, now):
    """Packages nobody downloaded in time are deleted (the export's record and block stay)."""
    db.research_exports.update_many({"expires_at": {"$lte": now}, "package": {"$exists": True}},
                                    {"$unset": {"package": ""}})


# Downloading --------------------------------------------------------------------------------

def downloaded_attributes(doc):
    return {"export": doc["export_id"], "study": doc["study_id"], "by": doc["downloaded_by"],
            "at": ts(doc["downloaded_at"]), "csv_sha256": doc["csv_sha256"]}


def get(db, export_id, projection=None):
    """The export if authentic, else None."""
    doc = db.research_exports.find_one({"export_id": str(export_id or "").strip().upper()},
                                       projection)
    return authority.authentic("research_exports", doc) if doc else None


def download(db, *, researcher, export_id, now=None):
    """(file name, zip bytes) for the study's researcher: once, before it expires, sealed."""
    doc = get(db, export_id)
    if doc is None or researcher.get("role") != users.RESEARCHER \
            or doc["researcher_id"] != researcher["human_id"]:
        raise NotFound("There is no such export of yours.")
    study = studies.get(db, doc["study_id"])
    if study is None or not studies.is_researcher_of(researcher, study) \
            or study["status"] != studies.APPROVED:
        raise NotFound("There is no such export of yours.")
    now = now or now_ms()
    if doc["downloaded_at"] is not None:
        raise Conflict("This export was already downloaded; each export is given out once.")
    if now >= doc["expires_at"]:
        raise Conflict("This export expired before it was downloaded; create a new one.")
    package = bytes(doc["package"])
    changed_doc = dict(doc, downloaded_at=now, downloaded_by=researcher["human_id"])
    salts = new_salts(downloaded_attributes(changed_doc))
    changed = authority.transition(
        db.research_exports, {"_id": doc["_id"], "downloaded_at": None},
        merge({"$set": {"downloaded_at": now, "downloaded_by": researcher["human_id"]},
               "$unset": {"package": ""}}, pending_update(DOWNLOADED_KIND, salts)), current=doc)
    if changed is None:
        raise Conflict("This export was already downloaded; each export is given out once.")
    seal_pending(db, DOWNLOADED_KIND, changed, researcher, downloaded_attributes(changed), salts)
    return f"{doc['export_id']}.zip", package


# Lists --------------------------------------------------------------------------------------

def for_study(db, study_id):
    return list(db.research_exports.find({"study_id": study_id}, SUMMARY,
                                         sort=[("created_at", -1)], limit=LIST_LIMIT))


def listing(db):
    """Every export, newest first (auditors)."""
    return list(db.research_exports.find({}, SUMMARY, sort=[("created_at", -1)],
                                         limit=LIST_LIMIT))


def including(db, patient_id):
    """The exports a patient's de-identified row went into, newest first (for the patient: the
    export, its study and date; never their subject id)."""
    export_ids = sorted({each["export_id"] for each in db.research_subjects.find(
        {"patient_id": patient_id}, {"export_id": 1})})
    if not export_ids:
        return []
    return list(db.research_exports.find({"export_id": {"$in": export_ids}}, SUMMARY,
                                         sort=[("created_at", -1)], limit=LIST_LIMIT))


# What the audit rebuilds and reconcile finishes -----------------------------------------------

def _named(db, block, prefetched):
    export_id = (block.get("subject") or {}).get("export")
    if not isinstance(export_id, str):
        return None
    doc = registry.take(prefetched, block,
                        lambda doc: registry.same(doc.get("export_id"), export_id))
    return doc if doc is not None else db.research_exports.find_one({"export_id": export_id},
                                                                    SUMMARY)


def _salts(doc, event):
    return ((doc.get("seals") or {}).get(event) or {}).get("salts", {})


def _rebuild_created(db, block, data_key, prefetched=None):
    doc = _named(db, block, prefetched)
    return (created_attributes(doc), _salts(doc, "created")) if doc else None


def _rebuild_downloaded(db, block, data_key, prefetched=None):
    doc = _named(db, block, prefetched)
    if doc is None or doc.get("downloaded_at") is None:
        return None
    return downloaded_attributes(doc), _salts(doc, "downloaded")


def coverage(db):
    for doc in db.research_exports.find({}, {"export_id": 1, "downloaded_at": 1, "seals": 1,
                                             "sealed_height": 1}):
        yield "research_exports", doc["export_id"], doc.get("sealed_height")
        if doc.get("downloaded_at") is not None:
            height = registry.field_of(doc, "seals.downloaded.height")
            yield "research_exports", f"{doc['export_id']} downloaded", height


def _remove_unfinished(db, doc):
    db.research_exports.delete_one({"_id": doc["_id"], "sealed_height": None})
    db.research_subjects.delete_many({"export_id": doc["export_id"]})


def _subject(doc):
    return {"export": doc["export_id"]}


EVENTS = (
    EventKind(CREATED_KIND, "research_exports", "sealed_height", _rebuild_created,
              creates_document=True, projection=SUMMARY, subject=_subject,
              salts_at="seals.created.salts", also_at=("seals.created.height",),
              actor=lambda db, doc: users.by_human_id(db, doc["researcher_id"]),
              sealed=lambda db, key, doc: (created_attributes(doc), _salts(doc, "created")),
              rollback=_remove_unfinished),
    EventKind(DOWNLOADED_KIND, "research_exports", "seals.downloaded.height",
              _rebuild_downloaded, projection=SUMMARY, subject=_subject,
              salts_at="seals.downloaded.salts",
              actor=lambda db, doc: users.by_human_id(db, doc.get("downloaded_by") or ""),
              sealed=lambda db, key, doc: (downloaded_attributes(doc),
                                           _salts(doc, "downloaded")),
              label=lambda doc: f"{doc['export_id']} downloaded"),
)
COVERAGE = (coverage,)
