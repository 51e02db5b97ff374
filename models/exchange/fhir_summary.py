"""The patient's summary as an International Patient Summary shaped FHIR `document` Bundle.

A Composition first (LOINC 60591-5, Patient summary Document) with the three sections IPS
requires: allergies and intolerances, the problem list, the medication summary. Each section
lists the current version of the patient's records of that kind (entered-in-error ones left
out), mapped by fhir_records as everywhere else, with a short narrative; an empty section says
so and gives its emptyReason rather than being left out. Then the Patient, the MedLedger Device
that assembled the document (its author), the section entries and the Practitioners and
Organizations they name, so every reference resolves inside the document.

Only the patient's own summary is built (no read to seal: a patient reading their own records
leaves no trail today either); a doctor's would need sealed reads and is not offered.
"""
import html
import uuid

from models.clinical import records
from models.core import clock
from models.core import record_types as types
from models.exchange import fhir_codes as codes
from models.exchange import fhir_people, fhir_records
from models.people import organizations, users

DOCUMENT_LOINC = ("60591-5", "Patient summary Document")
EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
DEVICE_ID = "medledger"
# (record type, section title, LOINC, display, what an empty section says)
SECTIONS = (
    (types.ALLERGY, "Allergies and intolerances", "48765-2",
     "Allergies and adverse reactions Document", "No allergies are recorded in MedLedger."),
    (types.DIAGNOSIS, "Problem list", "11450-4", "Problem list - Reported",
     "No problems are recorded in MedLedger."),
    (types.PRESCRIPTION, "Medication summary", "10160-0", "History of Medication use Narrative",
     "No medications are recorded in MedLedger."),
)


def _current(db, key, patient_id, type_name):
    """(doc, data) of the current, valid version of each of the patient's records of a type."""
    found = []
    for current, _older in records.grouped(records.for_patient(db, patient_id, projection=None)):
        if current["type"] == type_name and current["status"] == records.FINAL:
            found.append((current, records.data_of(key, current)))
    return found


def _narrative(lines):
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return {"status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{items}</ul></div>'}


def _section(title, loinc, display, resources, lines, empty_text):
    section = {"title": title,
               "code": {"coding": [{"system": codes.LOINC, "code": loinc, "display": display}]}}
    if resources:
        section["text"] = _narrative(lines)
        section["entry"] = [{"reference": f"{res['resourceType']}/{res['id']}"}
                            for res in resources]
    else:
        section["text"] = _narrative([empty_text])
        section["emptyReason"] = {"coding": [{"system": EMPTY_REASON, "code": "unavailable",
                                              "display": "Unavailable"}],
                                  "text": empty_text}
    return section


def _device():
    return {"resourceType": "Device", "id": DEVICE_ID,
            "deviceName": [{"name": "MedLedger", "type": "user-friendly-name"}]}


def _referenced(db, resources, included):
    """The Practitioners and Organizations the resources name and the document lacks."""
    wanted = sorted({ref["reference"] for res in resources for ref in _references(res)
                     if ref["reference"].split("/")[0] in ("Practitioner", "Organization")}
                    - included)
    found = []
    for reference in wanted:
        kind, _, human_id = reference.partition("/")
        if kind == "Organization":
            org = organizations.get(db, human_id)
            resource = fhir_people.organization_resource(org) if org else None
        else:
            person = users.by_human_id(db, human_id)
            resource = fhir_people.practitioner_resource(person) if person else None
        if resource is not None:
            found.append(resource)
    return found


def _references(value):
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value
        for inner in value.values():
            yield from _references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _references(inner)


def document(db, key, patient, *, base, timestamp=None):
    """The patient's summary as a `document` Bundle (a dict); `base` is the FHIR base URL the
    entries' fullUrls start with, so the relative references resolve inside the Bundle."""
    now = clock.ts(timestamp or clock.now_ms())
    me = patient["human_id"]
    sections, entries = [], []
    for type_name, title, loinc, display, empty_text in SECTIONS:
        mapped, lines = [], []
        for doc, data in _current(db, key, me, type_name):
            resources = [res for res in fhir_records.resources_for_version(doc, data)
                         if res["resourceType"] != "MedicationDispense"]
            mapped.extend(resources)
            lines.append(types.TYPES[type_name].label + ": " +
                         str(data[types.TYPES[type_name].summary_field]))
        sections.append(_section(title, loinc, display, mapped, lines, empty_text))
        entries.extend(mapped)
    document_id = str(uuid.uuid4())
    composition = {
        "resourceType": "Composition", "id": document_id,
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{document_id}"},
        "status": "final",
        "type": {"coding": [{"system": codes.LOINC, "code": DOCUMENT_LOINC[0],
                             "display": DOCUMENT_LOINC[1]}]},
        "subject": fhir_people.patient_ref(me, patient.get("name")),
        "date": now,
        "author": [{"reference": f"Device/{DEVICE_ID}", "display": "MedLedger"}],
        "title": f"International Patient Summary of {patient.get('name') or me}",
        "confidentiality": "N",
        "section": sections,
    }
    head = [composition, fhir_people.patient_resource(patient), _device()]
    included = {f"{res['resourceType']}/{res['id']}" for res in head + entries}
    resources = head + entries
    resources += _referenced(db, resources, included)
    base = base.rstrip("/")
    return {
        "resourceType": "Bundle", "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": now},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{document_id}"},
        "type": "document", "timestamp": now,
        "entry": [{"fullUrl": f"{base}/{res['resourceType']}/{res['id']}", "resource": res}
                  for res in resources],
    }
