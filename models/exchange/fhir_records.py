"""One record version as FHIR R4 resources (the mapping table is in docs/fhir.md).

A record's resources keep one id across its versions (the record id, plus a suffix where one
record yields several resources), and `meta.versionId` is the record version, so a consumer
sees an amendment as the next version of the same resource. Decimals come from the stored
fixed-point strings as `Decimal` (never a binary float; write them with fhir_json.dumps).
Nothing here reads the database: the caller decrypts the version and passes its values.
"""
import base64
import hashlib
from decimal import Decimal

from models.clinical import records
from models.core import record_types as types
from models.core.clock import as_utc, ts
from models.exchange import fhir_codes as codes
from models.exchange.fhir_people import organization_ref, patient_ref, person_ref, \
    practitioner_ref

RESOURCE_TYPES = {
    types.GENERAL: ("Observation",),
    types.DIAGNOSIS: ("Condition",),
    types.PRESCRIPTION: ("MedicationRequest", "MedicationDispense"),
    types.LAB_REPORT: ("DiagnosticReport", "Observation"),
    types.IMAGING: ("DiagnosticReport", "Observation"),
    types.ALLERGY: ("AllergyIntolerance",),
    types.IMMUNIZATION: ("Immunization",),
    types.NOTE: ("DocumentReference",),
    types.DISCHARGE_SUMMARY: ("DocumentReference",),
    types.PATIENT_PROVIDED: ("DocumentReference",),
}
"""Record type -> the FHIR resource types its versions map to (for search)."""

# vitals field -> (id suffix, vital); blood pressure and blood group are handled apart
_VITAL_FIELDS = (
    ("weight_kg", "weight", codes.BODY_WEIGHT),
    ("height_cm", "height", codes.BODY_HEIGHT),
    ("bmi", "bmi", codes.BMI),
    ("heart_rate_bpm", "heart-rate", codes.HEART_RATE),
    ("temperature_c", "temperature", codes.BODY_TEMPERATURE),
    ("spo2_percent", "spo2", codes.OXYGEN_SATURATION),
)


# Shared pieces -----------------------------------------------------------------------------

def _is_error(doc):
    return doc["status"] == records.ENTERED_IN_ERROR


def report_status(doc):
    """Observation / DiagnosticReport status: entered-in-error, amended (a later version of
    the record) or final. A superseded version keeps the status it had while current."""
    if _is_error(doc):
        return "entered-in-error"
    return "amended" if doc.get("supersedes") else "final"


def _last_updated(doc):
    """When this version last changed: written, or marked in error / dispensed / cancelled."""
    moments = [doc["created_at"]] + [(doc.get(part) or {}).get("at")
                                     for part in ("error", "dispense", "rx_cancel")]
    return ts(max(as_utc(moment) for moment in moments if moment))


def _meta(doc, profile=None):
    meta = {"versionId": str(doc["version"]), "lastUpdated": _last_updated(doc)}
    if profile:
        meta["profile"] = [profile]
    if doc.get("sensitivity") == records.RESTRICTED:
        meta["security"] = [dict(codes.RESTRICTED)]
    return meta


def _base(resource_type, resource_id, doc, profile=None):
    return {"resourceType": resource_type, "id": resource_id, "meta": _meta(doc, profile),
            "identifier": [{"system": codes.RECORD_ID, "value": doc["record_id"]}]}


def _author(doc):
    return person_ref(doc["author_id"], doc["author_role"], doc.get("author_name"))


def _subject(doc):
    return patient_ref(doc["patient_id"])


def _coding(system, code, display):
    return {"system": system, "code": code, "display": display}


def _concept(system, code, display, text=None):
    concept = {"coding": [_coding(system, code, display)]}
    if text:
        concept["text"] = text
    return concept


def _text(value):
    return {"text": value}


def _written_at(doc):
    return ts(doc["created_at"])


def _data_attachment(text, title, doc):
    data = text.encode("utf-8")
    return {"contentType": "text/plain; charset=utf-8",
            "data": base64.b64encode(data).decode("ascii"), "size": len(data),
            "hash": base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),
            "title": title, "creation": _written_at(doc)}


def file_attachment(meta, doc, files=None):
    """A record's file as an Attachment: type, size, name, creation and the sealed SHA-256
    (extension); with its bytes (`files` {sha256: bytes}) also the data and FHIR's SHA-1."""
    attachment = {
        "extension": [{"url": codes.ATTACHMENT_SHA256, "valueString": meta["sha256"]}],
        "contentType": meta["media_type"],
        "size": int(meta["size"]),
        "title": meta["name"],
        "creation": _written_at(doc),
    }
    data = (files or {}).get(meta["sha256"])
    if data is not None:
        attachment["data"] = base64.b64encode(data).decode("ascii")
        attachment["hash"] = base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")
    return attachment


def _files(doc, files):
    return [file_attachment(meta, doc, files) for meta in doc.get("attachments") or []]


def _quantity(value, vital):
    """Integers stay integers; decimals come from their fixed-point strings, never a float."""
    number = value if isinstance(value, int) else Decimal(value)
    return {"value": number, "unit": vital.unit_display, "system": codes.UCUM,
            "code": vital.unit}


def _drop_empty(resource):
    return {key: value for key, value in resource.items() if value not in (None, "", [], {})}


# general (vitals) --------------------------------------------------------------------------

def _vital(doc, suffix, vital, category=codes.VITAL_SIGNS):
    resource = _base("Observation", f"{doc['record_id']}-{suffix}", doc,
                     vital.profile if category == codes.VITAL_SIGNS else None)
    resource.update({
        "status": report_status(doc),
        "category": codes.observation_category(category),
        "code": _concept(codes.LOINC, vital.loinc, vital.display, vital.display),
        "subject": _subject(doc),
        "effectiveDateTime": _written_at(doc),
        "issued": _written_at(doc),
        "performer": [_author(doc)],
    })
    return resource


def _vitals(doc, data, files):
    out = []
    for field, suffix, vital in _VITAL_FIELDS:
        if data.get(field) is None:
            continue
        resource = _vital(doc, suffix, vital)
        resource["valueQuantity"] = _quantity(data[field], vital)
        if field == "bmi":
            resource["derivedFrom"] = [{"reference": f"Observation/{doc['record_id']}-weight"},
                                       {"reference": f"Observation/{doc['record_id']}-height"}]
        out.append(resource)
    if data.get("systolic_mmhg") is not None and data.get("diastolic_mmhg") is not None:
        resource = _vital(doc, "bp", codes.BLOOD_PRESSURE)
        resource["component"] = [
            {"code": _concept(codes.LOINC, part.loinc, part.display, part.display),
             "valueQuantity": _quantity(data[field], part)}
            for field, part in (("systolic_mmhg", codes.SYSTOLIC),
                                ("diastolic_mmhg", codes.DIASTOLIC))]
        out.insert(min(3, len(out)), resource)
    group = codes.BLOOD_GROUPS.get((data.get("blood_group_abo"), data.get("blood_group_rh")))
    if group:
        resource = _vital(doc, "blood-group", _BLOOD_GROUP, codes.LABORATORY)
        snomed, display = group
        resource["valueCodeableConcept"] = _concept(codes.SNOMED, snomed, display, display)
        out.append(resource)
    return out


_BLOOD_GROUP = codes.Vital(codes.BLOOD_GROUP_LOINC, codes.BLOOD_GROUP_DISPLAY, "vitalsigns")


# diagnosis -----------------------------------------------------------------------------------

def _statuses(resource, doc, clinical_system, clinical, verification_system):
    """clinicalStatus and verificationStatus: confirmed, or entered-in-error and then no
    clinical status at all (invariants con-5 and ait-2)."""
    if _is_error(doc):
        verification = ("entered-in-error", "Entered in Error")
    else:
        verification = ("confirmed", "Confirmed")
        resource["clinicalStatus"] = _concept(clinical_system, clinical, clinical.capitalize())
    resource["verificationStatus"] = _concept(verification_system, *verification)


def _condition(doc, data, files):
    resource = _base("Condition", doc["record_id"], doc)
    _statuses(resource, doc, codes.CONDITION_CLINICAL, data["clinical_status"],
              codes.CONDITION_VERIFICATION)
    resource["category"] = [_concept(codes.CONDITION_CATEGORY, "problem-list-item",
                                     "Problem List Item")]
    code = {"text": data["description"]}
    if data.get("code"):
        code["coding"] = [{"system": codes.ICD10, "code": data["code"]}]
    resource.update({"code": code, "subject": _subject(doc), "onsetDateTime": data.get("onset"),
                     "recordedDate": _written_at(doc), "recorder": _author(doc)})
    return [_drop_empty(resource)]


# prescription --------------------------------------------------------------------------------

_RX_STATUS = {records.RX_ACTIVE: "active", records.RX_DISPENSED: "completed",
              records.RX_CANCELLED: "cancelled"}


def prescription_status(doc):
    if _is_error(doc):
        return "entered-in-error"
    return _RX_STATUS.get(doc.get("rx_status"), "unknown")


def _medication(data):
    return {"text": f"{data['medication']} {data['strength']}"}


def _route(value):
    if value in codes.ROUTES:
        code, display = codes.ROUTES[value]
        return _concept(codes.SNOMED, code, display, display)
    return _text(value.capitalize())


def _medication_request(doc, data, files):
    resource = _base("MedicationRequest", doc["record_id"], doc)
    dosage_text = f"{data['dose']}, {data['frequency']}, {data['route']}"
    dosage = {"sequence": 1, "text": dosage_text, "route": _route(data["route"]),
              "timing": {"code": {"text": data["frequency"]}}}
    if data.get("instructions"):
        dosage["patientInstruction"] = data["instructions"]
    resource.update({
        "status": prescription_status(doc),
        "intent": "order",
        "medicationCodeableConcept": _medication(data),
        "subject": _subject(doc),
        "authoredOn": _written_at(doc),
        "requester": _author(doc),
        "dosageInstruction": [dosage],
        "dispenseRequest": {
            "numberOfRepeatsAllowed": int(data["refills"]),
            "quantity": {"value": int(data["quantity"]), "unit": "units"},
            "expectedSupplyDuration": {"value": int(data["duration_days"]), "unit": "days",
                                       "system": codes.UCUM, "code": "d"},
        },
    })
    if doc.get("rx_status") == records.RX_CANCELLED and doc.get("rx_cancel"):
        resource["statusReason"] = _text(doc["rx_cancel"].get("reason") or "Cancelled")
    out = [_drop_empty(resource)]
    if doc.get("rx_status") == records.RX_DISPENSED and doc.get("dispense") and not _is_error(doc):
        out.append(_medication_dispense(doc, data))
    return out


def _medication_dispense(doc, data):
    dispense = doc["dispense"]
    resource = _base("MedicationDispense", f"{doc['record_id']}-dispense", doc)
    performer = {"actor": practitioner_ref(dispense["by"])}
    resource.update({
        "status": "completed",
        "medicationCodeableConcept": _medication(data),
        "subject": _subject(doc),
        "performer": [performer],
        "authorizingPrescription": [{"reference": f"MedicationRequest/{doc['record_id']}"}],
        "quantity": {"value": int(data["quantity"]), "unit": "units"},
        "daysSupply": {"value": int(data["duration_days"]), "unit": "days",
                       "system": codes.UCUM, "code": "d"},
        "whenHandedOver": ts(dispense["at"]),
    })
    if dispense.get("pharmacy"):
        resource["performer"].append({"actor": organization_ref(dispense["pharmacy"])})
    return _drop_empty(resource)


# lab report and imaging -------------------------------------------------------------------

def _lab_report(doc, data, files):
    rid = doc["record_id"]
    effective = data.get("collected_on")
    code = _text(data["test_name"])
    observation = _base("Observation", f"{rid}-result", doc)
    observation.update({
        "status": report_status(doc),
        "category": codes.observation_category(codes.LABORATORY),
        "code": code,
        "subject": _subject(doc),
        "effectiveDateTime": effective,
        "issued": _written_at(doc),
        "performer": [_author(doc)],
        "valueString": data["results"],
    })
    report = _base("DiagnosticReport", rid, doc)
    report.update({
        "status": report_status(doc),
        "category": [_concept(codes.DIAGNOSTIC_SECTION, *codes.LAB_SECTION)],
        "code": code,
        "subject": _subject(doc),
        "effectiveDateTime": effective,
        "issued": _written_at(doc),
        "performer": [_author(doc)] + ([organization_ref(doc["org_id"])]
                                       if doc.get("org_id") else []),
        "result": [{"reference": f"Observation/{rid}-result"}],
        "conclusion": data.get("conclusion"),
        "presentedForm": _files(doc, files),
    })
    return [_drop_empty(report), _drop_empty(observation)]


def _modality(value):
    if value in codes.DICOM_MODALITIES:
        code, display = codes.DICOM_MODALITIES[value]
        return _concept(codes.DICOM, code, display, display)
    return _text("Other modality")


def _imaging(doc, data, files):
    rid = doc["record_id"]
    effective = data.get("performed_on")
    observation = _base("Observation", f"{rid}-findings", doc)
    observation.update({
        "status": report_status(doc),
        "category": codes.observation_category(codes.IMAGING),
        "code": _concept(codes.LOINC, *codes.IMAGING_FINDINGS_LOINC,
                         codes.IMAGING_FINDINGS_LOINC[1]),
        "subject": _subject(doc),
        "effectiveDateTime": effective,
        "issued": _written_at(doc),
        "performer": [_author(doc)],
        "valueString": data["findings"],
        "bodySite": _text(data["body_site"]),
        "method": _modality(data["modality"]),
    })
    report = _base("DiagnosticReport", rid, doc)
    code, display = codes.IMAGING_STUDY_LOINC
    report.update({
        "status": report_status(doc),
        "category": [_concept(codes.DIAGNOSTIC_SECTION, *codes.RADIOLOGY_SECTION),
                     _modality(data["modality"])],
        "code": _concept(codes.LOINC, code, display, f"{display}: {data['body_site']}"),
        "subject": _subject(doc),
        "effectiveDateTime": effective,
        "issued": _written_at(doc),
        "performer": [_author(doc)],
        "result": [{"reference": f"Observation/{rid}-findings"}],
        "conclusion": data.get("conclusion"),
        "presentedForm": _files(doc, files),
    })
    return [_drop_empty(report), _drop_empty(observation)]


# allergy and immunization -----------------------------------------------------------------

def _allergy(doc, data, files):
    resource = _base("AllergyIntolerance", doc["record_id"], doc)
    _statuses(resource, doc, codes.ALLERGY_CLINICAL, "active", codes.ALLERGY_VERIFICATION)
    category = codes.ALLERGY_CATEGORIES.get(data["category"])
    resource.update({
        "category": [category] if category else None,
        "criticality": codes.CRITICALITY[data["severity"]],
        "code": _text(data["substance"]),
        "patient": _subject(doc),
        "onsetDateTime": data.get("onset"),
        "recordedDate": _written_at(doc),
        "recorder": _author(doc),
    })
    if data.get("reaction"):
        resource["reaction"] = [{"manifestation": [_text(data["reaction"])],
                                 "severity": data["severity"]}]
    return [_drop_empty(resource)]


def _immunization(doc, data, files):
    resource = _base("Immunization", doc["record_id"], doc)
    resource.update({
        "status": "entered-in-error" if _is_error(doc) else "completed",
        "vaccineCode": _text(data["vaccine"]),
        "patient": _subject(doc),
        "occurrenceDateTime": data["administered_on"],
        "recorded": _written_at(doc),
        "primarySource": True,
        "lotNumber": data.get("lot_number"),
        "site": _site(data.get("site")),
        "performer": [{"actor": _author(doc)}],
        "protocolApplied": [{"doseNumberPositiveInt": int(data["dose_number"])}],
    })
    return [_drop_empty(resource)]


def _site(value):
    if not value:
        return None
    if value in codes.SITES:
        code, display = codes.SITES[value]
        return _concept(codes.V3_ACT_SITE, code, display, display)
    return _text(value.capitalize())


# documents -------------------------------------------------------------------------------------

def _document_status(doc):
    """(status, docStatus): the record's current/superseded state and the content's state."""
    if _is_error(doc):
        return "entered-in-error", "entered-in-error"
    status = "superseded" if doc["status"] == records.AMENDED else "current"
    return status, "amended" if doc.get("supersedes") else "final"


def _document(doc, loinc, description, text, files, period=None, admission=None):
    resource = _base("DocumentReference", doc["record_id"], doc)
    status, doc_status = _document_status(doc)
    code, display = loinc
    content = [{"attachment": attachment} for attachment in
               ([_data_attachment(text, description, doc)] if text else [])
               + _files(doc, files)]
    resource.update({
        "status": status,
        "docStatus": doc_status,
        "type": _concept(codes.LOINC, code, display, display),
        "subject": _subject(doc),
        "date": _written_at(doc),
        "author": [_author(doc)],
        "custodian": organization_ref(doc["org_id"]) if doc.get("org_id") else None,
        "description": description,
        "content": content,
    })
    context = {}
    if period:
        context["period"] = period
    if admission:
        context["related"] = [{"identifier": {"system": codes.ADMISSION_ID, "value": admission},
                               "display": f"Admission {admission}"}]
    resource["context"] = context
    return [_drop_empty(resource)]


def _note(doc, data, files):
    return _document(doc, codes.PROGRESS_NOTE_LOINC, data["title"], data["text"], files)


def _patient_provided(doc, data, files):
    return _document(doc, codes.PATIENT_NOTE_LOINC, data["title"], data.get("symptoms"), files)


_DISCHARGE_PARTS = (("diagnosis", "Diagnosis on discharge"), ("course", "Course in hospital"),
                    ("medication", "Medication on discharge"), ("follow_up", "Follow-up"))


def _discharge_summary(doc, data, files):
    lines = [f"Admission {data['admission_id']}: admitted on {data['admitted_on']}, "
             f"discharged on {data['discharged_on']}."]
    for field, label in _DISCHARGE_PARTS:
        if data.get(field):
            lines += ["", f"{label}:", data[field]]
    return _document(doc, codes.DISCHARGE_SUMMARY_LOINC, f"Discharge summary: {data['diagnosis']}",
                     "\n".join(lines), files,
                     period={"start": data["admitted_on"], "end": data["discharged_on"]},
                     admission=data["admission_id"])


_MAPPERS = {
    types.GENERAL: _vitals,
    types.DIAGNOSIS: _condition,
    types.PRESCRIPTION: _medication_request,
    types.LAB_REPORT: _lab_report,
    types.IMAGING: _imaging,
    types.ALLERGY: _allergy,
    types.IMMUNIZATION: _immunization,
    types.NOTE: _note,
    types.DISCHARGE_SUMMARY: _discharge_summary,
    types.PATIENT_PROVIDED: _patient_provided,
}


def resources_for_version(doc, data, *, files=None):
    """FHIR R4 resources (dicts) for one record version.

    `doc` is the whole records document (envelope), `data` its decrypted values
    (records.data_of), `files` optionally {sha256: bytes} to embed the attachments' bytes.
    """
    return _MAPPERS[doc["type"]](doc, data, files)


def references(doc, data=None):
    """["Observation/PAT-000001-R3-weight", ...]: what this version maps to (Provenance
    targets), with its version ("…/_history/2"). Vitals need `data` (which measurements
    exist); every other type is known from the envelope alone."""
    if doc["type"] == types.GENERAL:
        if data is None:
            raise ValueError("the references of a vitals record need its data")
        resources = _vitals(doc, data, None)
    else:
        resources = _MAPPERS[doc["type"]](doc, _Blank(), None) if data is None \
            else resources_for_version(doc, data)
    return refs(resources)


def refs(resources):
    """Versioned references ("Type/id/_history/version") of mapped resources."""
    return [f"{r['resourceType']}/{r['id']}/_history/{r['meta']['versionId']}"
            for r in resources]


class _Blank(dict):
    """Stands in for the values when only the ids are wanted: every field reads as a
    placeholder, so each mapper builds the same set of resources the real values give."""

    def __missing__(self, key):
        return {"refills": 0, "quantity": 1, "duration_days": 1, "dose_number": 1,
                "clinical_status": "active", "severity": "mild", "category": "other",
                "route": "other", "modality": "other"}.get(key, "x")
