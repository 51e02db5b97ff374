"""A patient imports a FHIR R4 Bundle they got elsewhere: each clinical entry becomes one of
their `patient_provided` documents, with the original resource attached as a file.

Every entry is accounted for: imported (and which record it became), already in the patient's
records (the same resource JSON is attached to one of their documents, so a second upload of
the same Bundle, or a retry after a failure, adds nothing twice), not clinical content
(people, places, the exchange itself: listed, not made into records), or waiting for the same
file to be uploaded again (past `MAX_WRITES` records in one request). The whole Bundle is read
and every entry checked before anything is written: one bad entry refuses the upload with every
problem named, and nothing is written. Each record then seals its block as any document does.
"""
import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal

from ledger.encoding import to_nfc

from models.clinical import records
from models.core import record_types
from models.core.errors import InvalidInput, TooLarge
from models.exchange import fhir_codes as codes
from models.exchange import fhir_import_rules as rules
from models.exchange import fhir_json
from models.exchange import fhir_import_text as text
from models.storage import attachments

FIELD = "bundle"
MAX_BUNDLE_BYTES = 5 * 1024 * 1024
MAX_ENTRIES = 5000
"""Entries read and checked per upload (cheap: no write)."""
MAX_WRITES = 250
"""Records written per upload. Each is a record, a file and a block, all journaled: about 70 ms
each on the embedded server of a loaded 2-core machine (bench/fhir_import_bench.py), so one
request stays near 20 s; the rest wait for the same file to be uploaded again."""
MAX_PROBLEMS_SHOWN = 20
MAX_DEPTH = 64
"""JSON levels accepted: a FHIR resource in a Bundle rarely goes past 15."""
_SURROGATE = re.compile("[\ud800-\udfff]")
MEDIA_TYPE = "application/fhir+json"

IMPORTED, ALREADY, LATER = "imported", "already-imported", "later"
NOT_CLINICAL, EMPTY = "not-clinical", "empty"
OUTCOMES = {IMPORTED: "Imported as your document", ALREADY: "Already in your records",
            LATER: "Not yet imported: upload the same file again",
            NOT_CLINICAL: "Not imported: not clinical content", EMPTY: "Not imported: no resource"}


@dataclass
class Entry:
    """One Bundle entry and what the import did with it."""
    number: int                   # 1-based, as the result page names it
    resource_type: str = ""
    resource_id: str = ""
    outcome: str = ""
    record_id: str = ""
    record_version: int = 1
    title: str = ""
    notes: list = field(default_factory=list)
    resource: dict = None
    data: bytes = b""

    @property
    def outcome_label(self):
        return OUTCOMES[self.outcome]

    @property
    def label(self):
        return f"{self.resource_type}/{self.resource_id}" if self.resource_id else \
            (self.resource_type or "(no resource)")


@dataclass
class Result:
    bundle_type: str
    entries: list

    def count(self, outcome):
        return sum(1 for entry in self.entries if entry.outcome == outcome)


# Reading JSON strictly ----------------------------------------------------------------------

def _no_duplicate_keys(pairs):
    found = {}
    for name, value in pairs:
        if name in found:
            raise ValueError(f"the key {name!r} appears twice in one object")
        found[name] = value
    return found


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number FHIR accepts")


def parse(raw, limit=MAX_BUNDLE_BYTES):
    """The JSON object of an upload, numbers kept as written (Decimal), text in NFC; TooLarge
    or InvalidInput."""
    if len(raw) > limit:
        problem = f"The Bundle is larger than the limit of {limit // (1024 * 1024) or limit} " \
                  f"{'MB' if limit >= 1024 * 1024 else 'bytes'}."
        raise TooLarge(problem, {FIELD: problem})
    if not raw.strip():
        raise _bad("The file is empty: choose a FHIR Bundle in JSON.")
    if raw.lstrip()[:1] == b"<":
        raise _bad("This looks like XML: upload the FHIR Bundle in JSON (FHIR's XML is not "
                   "read here).")
    try:
        parsed = json.loads(raw.decode("utf-8-sig"), parse_float=Decimal,
                            parse_constant=_no_constant, object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError:
        raise _bad("The file is not UTF-8 text, so it is not FHIR JSON.") from None
    except RecursionError:
        raise _bad("The JSON is nested too deeply to be a FHIR Bundle.") from None
    except ValueError as exc:
        raise _bad(f"The file is not valid JSON ({exc}).") from None
    _check_text(parsed)
    return to_nfc(parsed)  # text enters the app in NFC: the ledger seals nothing else


def _check_text(value):
    """No level deeper than MAX_DEPTH and no lone UTF-16 surrogate ("\\ud800" is valid JSON
    but not text that can be stored or written back as UTF-8), walked without recursion."""
    pending = [(value, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise _bad("The JSON is nested too deeply to be a FHIR Bundle.")
        if isinstance(value, dict):
            pending.extend((inner, depth + 1) for inner in value.values())
            pending.extend((name, depth + 1) for name in value)
        elif isinstance(value, list):
            pending.extend((inner, depth + 1) for inner in value)
        elif isinstance(value, str) and _SURROGATE.search(value):
            raise _bad("The file holds text that is not valid Unicode (a lone surrogate "
                       "escape such as \\ud800).")


def _bad(message):
    return InvalidInput(message, {FIELD: message})


# Checking the whole Bundle before writing --------------------------------------------------

def _bundle_entries(bundle):
    if not isinstance(bundle, dict) or not isinstance(bundle.get("resourceType"), str):
        raise _bad("This JSON is not a FHIR resource (it has no resourceType): upload a FHIR "
                   "R4 Bundle.")
    if bundle["resourceType"] != "Bundle":
        raise _bad(f"This is a FHIR {bundle['resourceType'][:60]}, not a Bundle: upload a "
                   "Bundle (collection, document, searchset, ...).")
    if bundle.get("type") not in rules.BUNDLE_TYPES:
        raise _bad(f"The Bundle's type {str(bundle.get('type'))[:40]!r} is not one of FHIR "
                   f"R4's ({', '.join(rules.BUNDLE_TYPES)}): this is not an R4 Bundle.")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise _bad("The Bundle's entry must be a list.")
    if not entries:
        raise _bad("The Bundle has no entries: there is nothing to import.")
    if len(entries) > MAX_ENTRIES:
        raise _bad(f"The Bundle has {len(entries)} entries; upload at most {MAX_ENTRIES} at a "
                   "time.")
    return entries


def _entry(number, raw_entry):
    entry = Entry(number)
    if not isinstance(raw_entry, dict):
        return entry, ["the entry is not a JSON object"]
    resource = raw_entry.get("resource")
    if resource is None:
        entry.outcome = EMPTY
        entry.notes.append("The entry carries no resource (a request or a reference only).")
        return entry, []
    found = rules.problems(resource)
    if isinstance(resource, dict):
        entry.resource_type = str(resource.get("resourceType") or "")[:64]
        entry.resource_id = str(resource.get("id") or "")[:64]
        entry.resource = resource
    return entry, found


class _People:
    """Who each subject reference points at: the uploader, or someone else (noted)."""

    def __init__(self, patient, raw_entries):
        self.me = patient["human_id"]
        self.name = " ".join(patient.get("name", "").casefold().split())
        self.born = (patient.get("profile") or {}).get("date_of_birth")
        self.by_reference = {}
        for raw_entry in raw_entries:
            resource = raw_entry.get("resource") if isinstance(raw_entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == "Patient":
                for reference in (raw_entry.get("fullUrl"), f"Patient/{resource.get('id')}"):
                    if isinstance(reference, str):
                        self.by_reference[reference] = resource

    @staticmethod
    def _names(person):
        """Each of a Patient's names as written ("given family" when it has no text)."""
        names = []
        for name in text.as_list(person.get("name")):
            if isinstance(name, dict):
                written = name.get("text") or " ".join(
                    [str(given) for given in text.as_list(name.get("given"))]
                    + [str(name.get("family", ""))])
                names.append(" ".join(str(written).split()))
        return names

    def _is_me(self, person):
        if any(isinstance(identifier, dict) and identifier.get("value") == self.me
               for identifier in text.as_list(person.get("identifier"))):
            return True
        return self.name in [name.casefold() for name in self._names(person)] and \
            person.get("birthDate") == self.born

    def note(self, resource):
        """A note when the resource is about someone other than the uploader, else None."""
        for element in ("subject", "patient"):
            reference = resource.get(element)
            if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
                continue
            target = reference["reference"]
            if target in (f"Patient/{self.me}", self.me):
                return None
            person = self.by_reference.get(target)
            if person is not None and self._is_me(person):
                return None
            if person is not None:
                who = (self._names(person) or [target])[0][:100]
                return (f"It is about another person ({who}, {target}); it is kept as you "
                        "provided it, as your copy.")
            return (f"It is about {target}, who is not you as far as MedLedger can tell; it is "
                    "kept as you provided it, as your copy.")
        return None


def _already_attached(db, patient_id):
    """{sha256: (record id, version)} of the files on the patient's current documents."""
    found = {}
    for doc in records.for_patient(db, patient_id):
        if doc["status"] == records.FINAL and doc["author_id"] == patient_id:
            for meta in doc["attachments"]:
                found.setdefault(meta["sha256"], (doc["record_id"], doc["version"]))
    return found


def plan(db, patient, raw, *, limit=MAX_BUNDLE_BYTES, max_bytes):
    """(bundle type, [Entry]) with every entry's outcome decided and its record checked, or
    InvalidInput naming every bad entry (nothing written either way)."""
    bundle = parse(raw, limit)
    raw_entries = _bundle_entries(bundle)
    people = _People(patient, raw_entries)
    attached = _already_attached(db, patient["human_id"])
    in_this_bundle = {}
    entries, bad, writes = [], [], 0
    for number, raw_entry in enumerate(raw_entries, start=1):
        entry, found = _entry(number, raw_entry)
        entries.append(entry)
        where = f"entry {number} ({entry.label})" if entry.resource_type else f"entry {number}"
        if found:
            bad.append(f"{where}: {'; '.join(found)}")
            continue
        if entry.outcome == EMPTY:
            continue
        if entry.resource_type in rules.NOT_CLINICAL:
            entry.outcome = NOT_CLINICAL
            entry.notes.append(_not_clinical_note(entry.resource_type))
            continue
        try:
            _describe(entry, people, max_bytes)
        except InvalidInput as exc:
            bad.append(f"{where}: {exc.message}")
            continue
        digest = hashlib.sha256(entry.data).hexdigest()
        if digest in attached or digest in in_this_bundle:
            entry.outcome = ALREADY
            entry.record_id, entry.record_version = attached.get(digest, ("", 1))
            if not entry.record_id:
                entry.notes.append(f"The same resource as entry {in_this_bundle[digest]}.")
            continue
        in_this_bundle[digest] = number
        entry.outcome = IMPORTED if writes < MAX_WRITES else LATER
        writes += entry.outcome == IMPORTED
    if bad:
        shown = bad[:MAX_PROBLEMS_SHOWN]
        more = len(bad) - len(shown)
        raise _bad("Nothing was imported. " + " · ".join(shown) +
                   (f" · and {more} more entries with problems." if more else ""))
    return bundle["type"], entries


def _not_clinical_note(resource_type):
    if resource_type == "Patient":
        return "Who the Bundle is about; your own details stay as registered here."
    if resource_type == "Bundle":
        return "A Bundle inside the Bundle: upload it on its own to import its entries."
    if resource_type in ("Consent", "Provenance", "AuditEvent"):
        return (f"A {resource_type} from another system grants or proves nothing here; "
                "MedLedger keeps its own sealed ones.")
    return "People, places or the exchange itself: not a clinical record."


def _describe(entry, people, max_bytes):
    """The record's title, description and file, checked as `records.create` will check them."""
    note = people.note(entry.resource)
    if note:
        entry.notes.append(note)
    entry.title = text.title(entry.resource)
    entry.data = (fhir_json.dumps(entry.resource, indent=2) + "\n").encode("utf-8")
    spec = record_types.get(record_types.PATIENT_PROVIDED)
    spec.clean(_values(entry), has_files=True)
    attachments.check([_upload(entry)], max_bytes)


def _values(entry):
    return {"title": entry.title, "symptoms": text.description(entry.resource, entry.notes),
            "sensitivity": records.RESTRICTED if _restricted(entry.resource) else records.NORMAL}


def _restricted(resource):
    """Labelled restricted or very restricted (HL7 v3 Confidentiality R or V in meta.security):
    the copy stays restricted here (shared only where the patient shares restricted records)."""
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    return any(isinstance(label, dict) and label.get("system") == codes.V3_CONFIDENTIALITY
               and label.get("code") in ("R", "V") for label in text.as_list(meta.get("security")))


def _upload(entry):
    name = f"{entry.resource_type}-{entry.resource_id or entry.number}.json"
    return attachments.Upload(name=name, data=entry.data)


# Writing -----------------------------------------------------------------------------------

def run(db, key, *, patient, raw, limit=MAX_BUNDLE_BYTES, max_bytes):
    """Import a Bundle for the signed-in patient: a Result listing every entry.

    Everything is checked first (`plan`), so a refusal writes nothing. If the server fails
    part way through the writes, the records written so far are whole and sealed, and the same
    upload again imports only the rest (the others are found "already in your records").
    """
    bundle_type, entries = plan(db, patient, raw, limit=limit, max_bytes=max_bytes)
    for entry in entries:
        if entry.outcome != IMPORTED:
            continue
        doc = records.create(db, key, author=patient, patient_id=patient["human_id"],
                             type_name=record_types.PATIENT_PROVIDED, raw=_values(entry),
                             uploads=[_upload(entry)], max_bytes=max_bytes)
        entry.record_id = doc["record_id"]
    return Result(bundle_type, entries)
