"""The ledger's side of FHIR R4: grants as Consent, sealed reads as AuditEvent (IHE BALP
PatientRead), a Provenance per record version pointing at its block, and dispensings as
MedicationDispense.

Pure mappings over the documents the models keep (no database): each resource carries the
height of the block that sealed it (extension `LEDGER_BLOCK`), and a Provenance also the
block's RFC 6962 leaf hash, the very `block.hash` a receipt shows, so a FHIR consumer can
check the resource against a receipt or the public chain without trusting the export.
"""
from models.clinical import records
from models.consent import access
from models.consent import workflow as consent
from models.core.clock import now_ms, ts
from models.core.errors import Conflict
from models.exchange import fhir_codes as codes
from models.exchange import fhir_people, fhir_records
from models.sealing.seam import store_for

GRANT_STATUS = {consent.REVOKED: "inactive", consent.EXPIRED: "inactive",
                consent.USED: "inactive"}
"""How an ended grant shows as Consent.status (an approved one: active, see consent_status)."""

PURPOSE_OF_USE = {"treatment": "TREAT", "emergency": "ETREAT", "payment": "HPAYMT",
                  "research": "HRESCH", "patient_request": "PATRQT"}
"""A grant's purpose as HL7 v3 ActReason (purpose of use)."""

BASIS_PURPOSE = {access.EMERGENCY: "ETREAT", access.AUTHOR: "TREAT"}
"""A read's purpose where its basis alone tells it (a grant's purpose is on its Consent)."""

ACTIVITY = {records.CREATED: "CREATE", records.AMENDED_KIND: "UPDATE",
            records.ERROR_KIND: "NULLIFY"}
"""The record event a version's block seals, as HL7 v3 DataOperation."""

V3_DISPLAY = {"TREAT": "treatment", "ETREAT": "Emergency Treatment", "HPAYMT": "healthcare payment",
              "HRESCH": "healthcare research", "PATRQT": "patient requested",
              "CREATE": "create", "UPDATE": "revise", "NULLIFY": "nullify"}


# Ledger evidence --------------------------------------------------------------------------

def ledger_extension(height, block=None):
    """The block that sealed a change: its height, and (given the block) its kind and its
    leaf hash in the log tree (= receipt["block"]["hash"], see docs/ledger.md §3 and §5)."""
    parts = [{"url": "height", "valueInteger": height}]
    if block is not None:
        parts += [{"url": "kind", "valueString": block["kind"]},
                  {"url": "leafHash", "valueString": block["hash"]}]
    return {"url": codes.LEDGER_BLOCK_EXTENSION, "extension": parts}


def _evidence(height, block=None):
    return [ledger_extension(height, block)] if height is not None else []


def _coding(system, code, display=None):
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(system, code, display=None):
    return {"coding": [_coding(system, code, display)]}


def _person_ref(human_id, role=None):
    """A patient's or a staff member's reference (a patient author writes patient documents)."""
    if role == "patient" or (human_id or "").startswith("PAT-"):
        return fhir_people.patient_ref(human_id)
    return fhir_people.practitioner_ref(human_id)


# Consent ----------------------------------------------------------------------------------

def consent_status(grant, now):
    """active while approved, sealed and in its period; inactive once revoked, expired (even
    if nobody has noticed the expiry yet) or used; proposed while its block is pending."""
    if grant["state"] in GRANT_STATUS:
        return GRANT_STATUS[grant["state"]]
    if consent.is_active(grant, now):
        return "active"
    return "inactive" if now >= grant["valid_until"] else "proposed"


def _grantee_ref(grant):
    if grant["grantee_kind"] == consent.ORG_GRANTEE:
        return fhir_people.organization_ref(grant["grantee_id"])
    return fhir_people.practitioner_ref(grant["grantee_id"])


def _scope_provision(scope, provision):
    """All types: no restriction; chosen types: provision.class in the record-type system
    (exact: what the access decision checks); named records: provision.data by identifier."""
    if scope["kind"] == consent.TYPES:
        provision["class"] = [_coding(codes.RECORD_TYPE_SYSTEM, name) for name in scope["types"]]
    elif scope["kind"] == consent.RECORDS:
        provision["data"] = [{"meaning": "instance", "reference": {"identifier": {
            "system": codes.RECORD_ID_SYSTEM, "value": record_id}}}
            for record_id in scope["records"]]
    return provision


def consent_resource(grant, now=None):
    """A grant (models.consent.workflow) as a FHIR R4 Consent; `now` (default: now) decides
    whether an approved grant is still active or already expired."""
    now = now or now_ms()
    actor = dict(_grantee_ref(grant), display=grant.get("grantee_name") or grant["grantee_id"])
    provision = _scope_provision(grant["scope"], {
        "type": "permit",
        "period": {"start": ts(grant["valid_from"]), "end": ts(grant["valid_until"])},
        "actor": [{"role": _concept(codes.V3_PARTICIPATION_TYPE, "IRCP", "information recipient"),
                   "reference": actor}],
        "action": [_concept(codes.CONSENT_ACTION_SYSTEM, "access", "Access")],
        "purpose": [_coding(codes.V3_ACT_REASON, PURPOSE_OF_USE[grant["purpose"]],
                            V3_DISPLAY[PURPOSE_OF_USE[grant["purpose"]]])],
    })
    extension = [{"url": codes.ONE_TIME_EXTENSION, "valueBoolean": bool(grant["one_time"])}]
    if grant.get("used_record"):
        extension.append({"url": codes.USED_FOR_EXTENSION, "valueIdentifier": {
            "system": codes.RECORD_ID_SYSTEM, "value": grant["used_record"]}})
    return {
        "resourceType": "Consent", "id": grant["grant_id"],
        "extension": extension + _evidence(grant.get("sealed_height")),
        "identifier": [{"system": codes.GRANT_ID_SYSTEM, "value": grant["grant_id"]}],
        "status": consent_status(grant, now),
        "scope": _concept(codes.CONSENT_SCOPE_SYSTEM, "patient-privacy", "Privacy Consent"),
        "category": [_concept(codes.LOINC, "59284-0", "Patient Consent")],
        "patient": fhir_people.patient_ref(grant["patient_id"]),
        "dateTime": ts(grant["created_at"]),
        "performer": [fhir_people.patient_ref(grant["granted_by"])],
        "policyRule": _concept(codes.V3_ACT_CODE, "OPTIN", "opt-in"),
        "provision": provision,
    }


# AuditEvent (IHE BALP PatientRead) --------------------------------------------------------

def _read_target(entry):
    """The record version read, as a versioned reference to the first resource its type maps
    to, with the record id beside it (a record may map to several resources)."""
    resource_type = fhir_records.RESOURCE_TYPES[entry["record_type"]][0]
    return {"reference": f"{resource_type}/{entry['record_id']}/_history/{entry['version']}",
            "identifier": {"system": codes.RECORD_ID_SYSTEM, "value": entry["record_id"]}}


def _read_purpose(entry):
    purposes = [_coding(codes.ACCESS_BASIS_SYSTEM, entry["basis_kind"], entry["basis"])]
    if entry["basis_kind"] in BASIS_PURPOSE:
        code = BASIS_PURPOSE[entry["basis_kind"]]
        purposes.append(_coding(codes.V3_ACT_REASON, code, V3_DISPLAY[code]))
    return [{"coding": purposes}]


def _read_policy(entry):
    """The grant or emergency the read was allowed under, as a relative URI."""
    if entry["basis_kind"] == access.GRANT:
        return [f"Consent/{entry['basis_id']}"]
    if entry["basis_kind"] == access.EMERGENCY:
        return [f"{codes.EMERGENCY_ID_SYSTEM}/{entry['basis_id']}"]
    return []


def audit_event_resource(read_entry):
    """A sealed read (models.clinical.audit_trail) as a FHIR R4 AuditEvent shaped as IHE BALP
    PatientRead: rest/read, action R, the reader as requesting agent, MedLedger as observer,
    the patient (role 1) and the record version (role 4) as entities."""
    entry = read_entry
    reader = {"type": _concept(codes.V3_PARTICIPATION_TYPE, "IRCP", "information recipient"),
              "role": [_concept(codes.STAFF_ROLE_SYSTEM, entry["viewer_role"])],
              "who": dict(_person_ref(entry["viewer_id"], entry["viewer_role"]),
                          display=entry.get("viewer_name") or entry["viewer_id"]),
              "requestor": True, "purposeOfUse": _read_purpose(entry)}
    policy = _read_policy(entry)
    if policy:
        reader["policy"] = policy
    agents = [reader]
    if entry.get("org_id"):
        agents.append({"type": _concept(codes.V3_ROLE_CLASS, "PROV", "healthcare provider"),
                       "who": fhir_people.organization_ref(entry["org_id"]),
                       "requestor": False})
    record = {"what": _read_target(entry),
              "type": _coding(codes.AUDIT_ENTITY_TYPE, "2", "System Object"),
              "role": _coding(codes.OBJECT_ROLE, "4", "Domain Resource")}
    if entry.get("item"):
        record["description"] = entry["item"]
    return {
        "resourceType": "AuditEvent", "id": f"read-{entry['_id']}",
        "meta": {"profile": [codes.BALP_PATIENT_READ]},
        "extension": _evidence(entry.get("sealed_height")),
        "type": _coding(codes.AUDIT_EVENT_TYPE, "rest", "Restful Operation"),
        "subtype": [_coding(codes.RESTFUL_INTERACTION, "read", "read")],
        "action": "R", "recorded": ts(entry["at"]), "outcome": "0",
        "purposeOfEvent": _read_purpose(entry),
        "agent": agents,
        "source": {"site": codes.MEDLEDGER_SITE,
                   "observer": {"display": "MedLedger", "identifier": {
                       "system": codes.DEVICE_ID_SYSTEM, "value": codes.MEDLEDGER_SITE}},
                   "type": [_coding(codes.SECURITY_SOURCE_TYPE, "4", "Application Server")]},
        "entity": [
            {"what": fhir_people.patient_ref(entry["patient_id"]),
             "type": _coding(codes.AUDIT_ENTITY_TYPE, "1", "Person"),
             "role": _coding(codes.OBJECT_ROLE, "1", "Patient")},
            record,
        ],
    }


# Provenance -------------------------------------------------------------------------------

def _versioned(references, version):
    return [{"reference": f"{reference}/_history/{version}"} for reference in references]


def provenance_resource(doc, targets, block):
    """A record version's Provenance for one of its blocks: `record.created` (CREATE),
    `record.amended` (UPDATE, with the superseded version as `revision` entity) or
    `record.entered_in_error` (NULLIFY). `targets` are the version's resources
    ("Observation/…", from fhir_records.references); `block` the ledger block (see
    `version_blocks`), whose height and leaf hash go in the ledger extension."""
    subject = {"record": doc["record_id"], "version": doc["version"]}
    if block.get("subject") != subject or block.get("kind") not in ACTIVITY:
        raise Conflict(f"Block {block.get('height')} does not seal {doc['record_id']} "
                       f"v{doc['version']}.")
    activity = ACTIVITY[block["kind"]]
    if activity == "NULLIFY":
        error = doc.get("error") or {}
        who, role, recorded, suffix = error.get("by"), None, error.get("at"), "-error"
    else:
        who, role, recorded, suffix = doc["author_id"], doc["author_role"], doc["created_at"], ""
    author = {"type": _concept(codes.PROVENANCE_PARTICIPANT_TYPE, "author", "Author"),
              "who": _person_ref(who, role)}
    if doc.get("org_id") and activity != "NULLIFY":
        author["onBehalfOf"] = fhir_people.organization_ref(doc["org_id"])
    resource = {
        "resourceType": "Provenance", "id": f"{doc['record_id']}-v{doc['version']}{suffix}",
        "extension": [ledger_extension(block["height"], block)],
        "target": _versioned(targets, doc["version"]),
        "recorded": ts(recorded),
        "activity": _concept(codes.V3_DATA_OPERATION, activity, V3_DISPLAY[activity]),
        "agent": [author],
    }
    if activity == "UPDATE" and doc.get("supersedes"):
        resource["entity"] = [{"role": "revision", "what": reference}
                              for reference in _versioned(targets, doc["supersedes"])]
    return resource


def version_blocks(db, doc):
    """The blocks of a version a Provenance is made for: the one that wrote it, and the one
    that marked it entered in error (if it was). A version still waiting for its block has
    no Provenance yet (reconcile seals it); a height that holds no block is skipped (the
    audit names that, an export does not hide or invent it)."""
    store = store_for(db)
    heights = [doc.get("sealed_height")]
    if doc.get("status") == records.ENTERED_IN_ERROR:
        heights.append((doc.get("error") or {}).get("sealed_height"))
    found = (store.get_block(height) for height in heights if height is not None)
    return [block for block in found if block is not None]


def provenance_resources(db, doc, targets):
    """Every Provenance of one record version (its write, and its marking in error)."""
    return [provenance_resource(doc, targets, block) for block in version_blocks(db, doc)]


# MedicationDispense -----------------------------------------------------------------------

def medication_dispense_resource(doc, data):
    """A dispensed prescription version (models.clinical.pharmacy) as MedicationDispense:
    the whole prescribed quantity handed over once, by the pharmacist for their pharmacy."""
    dispense = doc["dispense"]
    medication = " ".join(part for part in (data.get("medication"), data.get("strength")) if part)
    [request] = [ref for ref in fhir_records.references(doc)
                 if ref.startswith("MedicationRequest/")]
    resource = {
        "resourceType": "MedicationDispense",
        "id": f"{doc['record_id']}-v{doc['version']}-dispense",
        "extension": _evidence(dispense.get("sealed_height")),
        "status": "completed",
        "medicationCodeableConcept": {"text": medication},
        "subject": fhir_people.patient_ref(doc["patient_id"]),
        "performer": [{"actor": fhir_people.practitioner_ref(dispense["by"])},
                      {"actor": fhir_people.organization_ref(dispense["pharmacy"])}],
        "authorizingPrescription": _versioned([request], doc["version"]),
        "whenHandedOver": ts(dispense["at"]),
    }
    if data.get("quantity") not in (None, ""):
        resource["quantity"] = {"value": int(data["quantity"])}
    if data.get("duration_days") not in (None, ""):
        resource["daysSupply"] = {"value": int(data["duration_days"]), "unit": "days",
                                  "system": codes.UCUM, "code": "d"}
    return resource
