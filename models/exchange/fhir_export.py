"""A patient's data as FHIR R4 resources, streamed: the patient's download, a doctor's export
and the operator's bundle and bulk NDJSON.

What each reader gets (docs/fhir.md, Export):
- the patient (their own download) and the operator (`flask fhir export`): everything — the
  Patient, the current version of every record, a Provenance per record version (the whole
  history, each pointing at its ledger block), every grant as a Consent, every sealed read as
  an AuditEvent, appointments, stays, and the Practitioners and Organizations they name;
- a doctor: the Patient and the current version of each record the access decision lets them
  read now, each one a sealed read through models.clinical.reading (the export leaves the trail
  opening each page would), a Provenance per version exported, and the Consents that let them
  read; never the patient's read log nor grants given to others. A record only a one-time grant
  opens is left out (an export must not use up a grant meant for one read), as is one the
  decision refuses at the moment of its read (a grant revoked during the export).

Nothing is built whole in memory: one patient's record envelopes (ciphertext, no values) are
read through the `patient_id` index, each record decrypted when its turn comes, each resource
handed on at once; the Bundle and the NDJSON files are written as they come.
"""
import hashlib
import json
import os
import uuid

from models.care import admissions, appointments
from models.clinical import audit_trail, reading, records
from models.consent import access
from models.consent import workflow as consent
from models.core import clock, ids
from models.core.errors import DomainError, Forbidden
from models.exchange import fhir_care, fhir_json, fhir_ledger, fhir_people, fhir_records
from models.people import organizations, users
from models.people.patients import require_patient
from models.storage import attachments, authority

READ_ITEM = "FHIR export"
"""How a doctor's export names each of its reads in the patient's "who saw my records"."""
URN_NAMESPACE = uuid.UUID("3c4f3a4e-6d65-4c65-8467-65722d666869")
"""uuid5 namespace of the urn:uuid fullUrls (stable: one resource, one fullUrl, every export)."""
PATIENT_BATCH = 200
AUDIT_PAGE = 500
_PEOPLE = {"Practitioner", "Organization"}


# Who gets what -------------------------------------------------------------------------------

def patient_resources(db, key, viewer, patient_id, *, embed_files=None):
    """An iterator of the FHIR resources `viewer` may export about the patient.

    `viewer` None is the operator (the CLI: everything, no read sealed here; the caller seals
    the export once). Who may export is decided here, before the first resource: a doctor (or
    any reader role, e.g. a pharmacist through the API's $everything: the decision limits them
    to their types) who may read none of the patient's records gets Forbidden with nothing
    sealed. File bytes are
    embedded for the patient's own export (and the operator's, unless `embed_files=False`),
    never for a doctor's (each file stays one sealed read of its own, from the record page).
    """
    patient = require_patient(db, patient_id)
    own = viewer is None or (viewer["role"] == users.PATIENT
                             and viewer["human_id"] == patient["human_id"])
    if viewer is not None and viewer["role"] not in access.READER_ROLES and not own:
        raise Forbidden("Only the patient and those they share records with export them.")
    if own:  # every envelope checked before the first byte: a forged one fails the export
        versions = _versions(db, patient["human_id"], authentic_only=True)
        return _everything(db, key, patient, versions, embed_files is not False)
    versions = _versions(db, patient["human_id"])  # the decision refuses a forged envelope
    ctx, readable = _readable(db, viewer, patient["human_id"], versions)
    if not readable:
        raise Forbidden("This patient has not allowed you to read any of their records.")
    return _for_reader(db, key, viewer, patient, ctx, readable)


def _versions(db, patient_id, authentic_only=False):
    """{record id: [its versions, oldest first]} of one patient (ciphertext, no values), in
    record order: one indexed query, sorted here (a patient's records are a bounded list).
    `authentic_only`: Unauthentic (403) if any envelope fails its authority check."""
    found = {}
    for doc in db.records.find({"patient_id": patient_id}):
        if authentic_only:
            authority.require("records", doc)
        found.setdefault(doc["record_id"], []).append(doc)
    ordered = {}
    for record_id in sorted(found, key=ids.record_number):
        ordered[record_id] = sorted(found[record_id], key=lambda doc: doc["version"])
    return ordered


def _readable(db, viewer, patient_id, versions):
    """(access context, [(current version, all versions)]) the viewer may read now, decided
    without any write; one-time grants are left out (they are meant for one read)."""
    currents = [history[-1] for history in versions.values()]
    ctx, decisions = access.evaluate_all(db, viewer, patient_id, currents)
    readable = [(doc, versions[doc["record_id"]]) for doc in currents
                if exportable(decisions[(doc["record_id"], doc["version"])])]
    return ctx, readable


def exportable(decision):
    """Whether a reader's export holds a record so decided: allowed, and not only by a
    one-time grant (meant for one read, not a bulk one)."""
    return decision.allowed and not (decision.grant and decision.grant["one_time"])


def _everything(db, key, patient, versions, embed_files, people=None):
    people = people or _People(db)
    me = patient["human_id"]
    yield from people.with_referenced(fhir_people.patient_resource(patient))
    for history in versions.values():
        current = history[-1]
        files = _files(db, key, current) if embed_files else None
        data = records.data_of(key, current)
        for resource in fhir_records.resources_for_version(current, data, files=files):
            yield from people.with_referenced(resource)
        del files
        for doc in history:  # an older version's values say which resources it had
            values = data if doc is current else records.data_of(key, doc)
            yield from _provenances(db, doc, people, values)
    now = clock.now_ms()
    for grant in consent.grants_for_patient(db, me, now):
        yield from people.with_referenced(fhir_ledger.consent_resource(grant, now))
    for entry in _reads(db, me):
        yield from people.with_referenced(fhir_ledger.audit_event_resource(entry))
    for appt in appointments.for_patient(db, me):
        yield from people.with_referenced(fhir_care.appointment_resource(appt, show_reason=True))
    for stay in admissions.stays_of(db, me):
        yield from people.with_referenced(fhir_care.encounter_resource(stay, show_reason=True))


def _for_reader(db, key, viewer, patient, ctx, readable):
    people = _People(db)
    yield from people.with_referenced(fhir_people.patient_resource(patient))
    for current, history in readable:
        try:
            doc, _ = reading.read_version(db, viewer, current["record_id"], current["version"],
                                          item=READ_ITEM, versions=history)
        except DomainError:  # refused at the moment of its read: nothing read, nothing shown
            continue
        data = records.data_of(key, doc)
        for resource in fhir_records.resources_for_version(doc, data):
            yield from people.with_referenced(resource)
        yield from _provenances(db, doc, people, data)
    for grant in ctx.grants:
        if consent.is_active(grant, ctx.now):
            yield from people.with_referenced(fhir_ledger.consent_resource(grant, ctx.now))


def _provenances(db, doc, people, data):
    """A version's Provenances (its write; its marking in error, its dispensing if it was),
    each naming its ledger block (height, leaf hash) and the version's resources."""
    targets = fhir_records.references(doc, data)
    for resource in fhir_ledger.provenance_resources(db, doc, targets):
        yield from people.with_referenced(resource)


def _files(db, key, doc):
    """{sha256: bytes} of one version's files (one record's files in memory at a time)."""
    return {meta["sha256"]: attachments.read(db, key, doc["patient_id"], meta)
            for meta in doc.get("attachments", [])}


def _reads(db, patient_id):
    """The patient's read log, page by page (keyset on the sealing height), newest first."""
    before = None
    while True:
        page = audit_trail.page_for_patient(db, patient_id, before=before, per_page=AUDIT_PAGE)
        yield from page.items
        if page.before is None:
            return
        before = page.before


class _People:
    """The Practitioners and Organizations the exported resources name, each once, right
    after the first resource that names it (looked up by its indexed human id)."""

    def __init__(self, db, seen=None):
        self.db = db
        self.seen = seen if seen is not None else set()

    def with_referenced(self, resource):
        yield resource
        for reference in sorted(_references(resource)):
            kind, _, human_id = reference.partition("/")
            if kind not in _PEOPLE or reference in self.seen:
                continue
            self.seen.add(reference)
            found = self._resource(kind, human_id)
            if found is not None:
                yield from self.with_referenced(found)

    def _resource(self, kind, human_id):
        if kind == "Organization":
            org = organizations.get(self.db, human_id)
            return fhir_people.organization_resource(org) if org else None
        person = users.by_human_id(self.db, human_id)
        return fhir_people.practitioner_resource(person) if person else None


def _references(value):
    """Every literal reference ("Type/id") anywhere inside a resource."""
    if isinstance(value, dict):
        for name, inner in value.items():
            if name == "reference" and isinstance(inner, str):
                yield inner
            else:
                yield from _references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _references(inner)


# The Bundle, as a stream of JSON text ------------------------------------------------------

def full_url(resource, base=None):
    """`<base>/<type>/<id>` with a FHIR base URL (the app's /fhir/r4 API, where the resource
    can be read again), else a stable urn:uuid (uuid5 of type/id)."""
    path = f"{resource['resourceType']}/{resource['id']}"
    if base:
        return f"{base.rstrip('/')}/{path}"
    return f"urn:uuid:{uuid.uuid5(URN_NAMESPACE, path)}"


def collection_bundle(resources, *, base=None, bundle_id=None, timestamp=None):
    """A `collection` Bundle of `resources`, as JSON text chunks (one per entry), so that a
    big export is written as it is read. An identifier and timestamp per export; `entry` is
    left out when there is nothing in it (FHIR forbids empty arrays)."""
    bundle_id = bundle_id or str(uuid.uuid4())
    head = {"resourceType": "Bundle", "id": bundle_id,
            "meta": {"lastUpdated": clock.ts(timestamp or clock.now_ms())},
            "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{bundle_id}"},
            "type": "collection", "timestamp": clock.ts(timestamp or clock.now_ms())}
    yield _dumps(head)[:-1]
    separator = ',"entry":['
    for resource in resources:
        yield separator + _dumps({"fullUrl": full_url(resource, base), "resource": resource})
        separator = ","
    yield "]}" if separator == "," else "}"


def _dumps(value):
    return fhir_json.dumps(value)  # exact decimals, compact


# Bulk NDJSON ---------------------------------------------------------------------------------

def all_patient_ids(db):
    """Every patient's id, in order, read by batches of their unique human id (the patient
    counter bounds them): no scan, sort or count over the accounts."""
    counter = db.counters.find_one({"_id": "patient"})
    last = int(counter["n"]) if counter else 0
    prefix, width = ids.PREFIXES["patient"]
    for first in range(1, last + 1, PATIENT_BATCH):
        wanted = [f"{prefix}-{n:0{width}d}" for n in range(first, min(first + PATIENT_BATCH,
                                                                       last + 1))]
        found = {doc["human_id"] for doc in db.users.find(
            {"human_id": {"$in": wanted}}, {"human_id": 1, "role": 1})
            if doc.get("role") == users.PATIENT}
        yield from (human_id for human_id in wanted if human_id in found)


class NdjsonWriter:
    """One `<Type>.ndjson` file per resource type (FHIR Bulk Data), each line one resource,
    with counts and a SHA-256 per file kept as they are written."""

    def __init__(self, directory):
        self.directory = directory
        self.files, self.hashes, self.counts, self.bytes = {}, {}, {}, 0
        os.makedirs(directory, exist_ok=True)

    def write(self, resource):
        kind = resource["resourceType"]
        if kind not in self.files:
            path = os.path.join(self.directory, f"{kind}.ndjson")
            self.files[kind] = open(path, "wb")  # noqa: SIM115 - closed in close()
            self.hashes[kind], self.counts[kind] = hashlib.sha256(), 0
        line = (_dumps(resource) + "\n").encode("utf-8")
        self.files[kind].write(line)
        self.hashes[kind].update(line)
        self.counts[kind] += 1
        self.bytes += len(line)

    def close(self):
        for handle in self.files.values():
            handle.close()

    def manifest(self, transaction_time):
        """The Bulk Data completion manifest (file names relative to the folder), with the
        SHA-256 of each file."""
        return {"transactionTime": clock.ts(transaction_time), "request": "flask fhir export --all",
                "requiresAccessToken": False, "error": [],
                "output": [{"type": kind, "url": f"{kind}.ndjson", "count": self.counts[kind],
                            "sha256": self.hashes[kind].hexdigest()}
                           for kind in sorted(self.files)]}


def export_all(db, key, directory, *, patient_ids=None, progress=None):
    """Every patient's resources (file bytes not embedded: each attachment carries its hash)
    as NDJSON in `directory`, patient by patient; returns the manifest (also written as
    `manifest.json`). Practitioners and Organizations are written once for the whole export."""
    started = clock.now_ms()
    writer = NdjsonWriter(directory)
    people, patients = _People(db), 0
    try:
        for patient_id in patient_ids if patient_ids is not None else all_patient_ids(db):
            patient = require_patient(db, patient_id)
            versions = _versions(db, patient_id, authentic_only=True)
            for resource in _everything(db, key, patient, versions, False, people):
                writer.write(resource)
            patients += 1
            if progress:
                progress(patients)
    finally:
        writer.close()
    manifest = writer.manifest(started)
    manifest["patients"] = patients
    manifest["bytes"] = writer.bytes
    with open(os.path.join(directory, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2)
    return manifest

