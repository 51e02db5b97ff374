"""The ledger's side of FHIR R4: grants as Consent, sealed reads as AuditEvent (IHE BALP
PatientRead), and a Provenance for each sealed change of a record version (written, amended,
entered in error, dispensed) pointing at its block.

Mappings over the documents the models keep (only `version_blocks` reads the ledger): each
resource carries the height of the block that sealed it (LEDGER_BLOCK_EXTENSION), and a
Provenance also the block's RFC 6962 leaf hash, the very `block.hash` a receipt shows, so a
FHIR consumer can check the resource against a receipt or the public chain without trusting
the export. The record resources themselves (MedicationDispense included) are fhir_records'.
"""
from models.clinical import audit_trail, pharmacy, records
from models.consent import access
from models.consent import workflow as consent
from models.core.clock import now_ms, ts
from models.core.errors import Conflict
from models.exchange import fhir_codes as codes
from models.exchange import fhir_people
from models.people import users
from models.sealing.seam import store_for

_THO = "http://terminology.hl7.org/CodeSystem/"
_EXT = "http://medledger.local/fhir/StructureDefinition/"
_CS = "http://medledger.local/fhir/CodeSystem/"
LEDGER_BLOCK_EXTENSION = _EXT + "ledger-block"
"""Complex extension: `height` (valueInteger), and on a Provenance `kind` and `leafHash`
(valueString, lowercase hex): the block that sealed the change (docs/fhir.md, Provenance)."""
ONE_TIME_EXTENSION = _EXT + "consent-one-time"
"""valueBoolean: the grant allows one read (then it is used up)."""
USED_FOR_EXTENSION = _EXT + "consent-used-for"
"""valueIdentifier: the record a one-time grant was used for."""
RECORD_TYPE_SYSTEM = _CS + "record-type"
"""MedLedger record types (models/core/record_types.py), a Consent's provision.class."""
ACCESS_BASIS_SYSTEM = _CS + "access-basis"
"""Why a read was allowed: grant, emergency, author (models/consent/access.py)."""
ROLE_SYSTEM = _CS + "role"
"""MedLedger account roles (models/people/users.py ROLES)."""
EMERGENCY_ID = "http://medledger.local/fhir/sid/emergency-id"
MEDLEDGER_OBSERVER = "medledger"
DEVICE_ID = "http://medledger.local/fhir/sid/device"
BALP_PATIENT_READ = ("https://profiles.ihe.net/ITI/BALP/StructureDefinition/"
                     "IHE.BasicAudit.PatientRead")
"""The profile whose shape an AuditEvent follows; not claimed in meta.profile (see
audit_event_resource)."""
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_EVENT_TYPE = _THO + "audit-event-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
AUDIT_ENTITY_TYPE = _THO + "audit-entity-type"
OBJECT_ROLE = _THO + "object-role"
SECURITY_SOURCE_TYPE = _THO + "security-source-type"
CONSENT_SCOPE = _THO + "consentscope"
CONSENT_ACTION = _THO + "consentaction"
PROVENANCE_PARTICIPANT_TYPE = _THO + "provenance-participant-type"
V3_ACT_CODE = _THO + "v3-ActCode"
V3_ACT_REASON = _THO + "v3-ActReason"
V3_DATA_OPERATION = _THO + "v3-DataOperation"
V3_PARTICIPATION_TYPE = _THO + "v3-ParticipationType"
V3_ROLE_CLASS = _THO + "v3-RoleClass"

GRANT_STATUS = {consent.REVOKED: "inactive", consent.EXPIRED: "inactive",
                consent.USED: "inactive"}
"""How an ended grant shows as Consent.status (an approved one: active, see consent_status)."""

PURPOSE_OF_USE = {"treatment": "TREAT", "emergency": "ETREAT", "payment": "HPAYMT",
                  "research": "HRESCH", "patient_request": "PATRQT"}
"""A grant's purpose as HL7 v3 ActReason (purpose of use)."""

BASIS_PURPOSE = {access.EMERGENCY: "ETREAT", access.AUTHOR: "TREAT"}
"""A read's purpose where its basis alone tells it (a grant's purpose is on its Consent)."""

ACTIVITY = {records.CREATED: "CREATE", records.AMENDED_KIND: "UPDATE",
            records.ERROR_KIND: "NULLIFY", pharmacy.DISPENSED_KIND: "CREATE"}
"""The record event a block seals, as HL7 v3 DataOperation (a dispensing creates the
MedicationDispense)."""

V3_DISPLAY = {"TREAT": "treatment", "ETREAT": "Emergency Treatment", "HPAYMT": "healthcare payment",
              "HRESCH": "healthcare research", "PATRQT": "patient requested",
              "CREATE": "create", "UPDATE": "revise", "NULLIFY": "nullify"}


# Ledger evidence --------------------------------------------------------------------------

def ledger_extension(height, kind, leaf_hash=None):
    """The block that sealed a change: its height and kind, and (read from the block) its
    leaf hash in the log tree (= ledger.receipt.receipt_block_hash(receipt), see docs/ledger.md
    §3, §5 and §9)."""
    parts = [{"url": "height", "valueInteger": height}, {"url": "kind", "valueString": kind}]
    if leaf_hash is not None:
        parts.append({"url": "leafHash", "valueString": leaf_hash})
    return {"url": LEDGER_BLOCK_EXTENSION, "extension": parts}


def latest_seal(doc, events):
    """[the ledger extension] of the newest sealed block among `events` ((event, kind) pairs,
    newest first; the document keeps each event's height at `seals.<event>.height`): the
    block that sealed the state the resource shows. [] if none is sealed yet."""
    for event, kind in events:
        height = ((doc.get("seals") or {}).get(event) or {}).get("height")
        if height is not None:
            return [ledger_extension(height, kind)]
    return []


def _coding(system, code, display=None):
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(system, code, display=None):
    return {"coding": [_coding(system, code, display)]}


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
    """The doctor (Practitioner) or organization the grant is to."""
    ref = fhir_people.organization_ref if grant["grantee_kind"] == consent.ORG_GRANTEE \
        else fhir_people.practitioner_ref
    return ref(grant["grantee_id"], grant.get("grantee_name"))


def _scope_provision(scope, provision):
    """All types: no restriction; chosen types: provision.class in the record-type system
    (exact: what the access decision checks); named records: provision.data by identifier."""
    if scope["kind"] == consent.TYPES:
        provision["class"] = [_coding(RECORD_TYPE_SYSTEM, name) for name in scope["types"]]
    elif scope["kind"] == consent.RECORDS:
        provision["data"] = [{"meaning": "instance", "reference": {"identifier": {
            "system": codes.RECORD_ID, "value": record_id}}}
            for record_id in scope["records"]]
    return provision


def _grant_events(grant):
    """How the grant ended (if it did), then how it began."""
    created = consent.grant_kind(grant)
    ended = [(grant["state"], f"access.{grant['state']}")] if grant["state"] in GRANT_STATUS \
        else []
    return ended + [(created.rsplit(".", 1)[1], created)]


def consent_resource(grant, now=None):
    """A grant (models.consent.workflow) as a FHIR R4 Consent; `now` (default: now) decides
    whether an approved grant is still active or already expired."""
    now = now or now_ms()
    provision = _scope_provision(grant["scope"], {
        "type": "permit",
        "period": {"start": ts(grant["valid_from"]), "end": ts(grant["valid_until"])},
        "actor": [{"role": _concept(V3_PARTICIPATION_TYPE, "IRCP", "information recipient"),
                   "reference": _grantee_ref(grant)}],
        "action": [_concept(CONSENT_ACTION, "access", "Access")],
        "purpose": [_coding(V3_ACT_REASON, PURPOSE_OF_USE[grant["purpose"]],
                            V3_DISPLAY[PURPOSE_OF_USE[grant["purpose"]]])],
    })
    extension = [{"url": ONE_TIME_EXTENSION, "valueBoolean": bool(grant["one_time"])}]
    if grant.get("used_record"):
        extension.append({"url": USED_FOR_EXTENSION, "valueIdentifier": {
            "system": codes.RECORD_ID, "value": grant["used_record"]}})
    return {
        "resourceType": "Consent", "id": grant["grant_id"],
        "extension": extension + latest_seal(grant, _grant_events(grant)),
        "identifier": [{"system": codes.GRANT_ID, "value": grant["grant_id"]}],
        "status": consent_status(grant, now),
        "scope": _concept(CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
        "category": [_concept(codes.LOINC, "59284-0", "Patient Consent")],
        "patient": fhir_people.patient_ref(grant["patient_id"]),
        "dateTime": ts(grant["created_at"]),
        "performer": [fhir_people.patient_ref(grant["granted_by"])],
        "policyRule": _concept(V3_ACT_CODE, "OPTIN", "opt-in"),
        "provision": provision,
    }


def version_identifier(record_id, version):
    """One record version as an Identifier (`PAT-000001-R3/2`)."""
    return {"system": codes.RECORD_VERSION, "value": f"{record_id}/{version}"}


# AuditEvent (IHE BALP PatientRead) --------------------------------------------------------

def _read_targets(entry, targets):
    """The record version read: one versioned reference per resource it maps to when the
    caller knows them (fhir_records.references: vitals need the values), each with the
    version's identifier; else the identifier alone (no guessed resource id)."""
    identifier = version_identifier(entry["record_id"], entry["version"])
    if not targets:
        return [{"identifier": identifier,
                 "display": f"{entry['record_id']} v{entry['version']}"}]
    return [{"reference": reference, "identifier": identifier} for reference in targets]


def _read_purpose(entry):
    purposes = [_coding(ACCESS_BASIS_SYSTEM, entry["basis_kind"], entry["basis"])]
    if entry["basis_kind"] in BASIS_PURPOSE:
        code = BASIS_PURPOSE[entry["basis_kind"]]
        purposes.append(_coding(V3_ACT_REASON, code, V3_DISPLAY[code]))
    return [{"coding": purposes}]


def _read_policy(entry):
    """The grant (its Consent) or emergency the read was allowed under."""
    if entry["basis_kind"] == access.GRANT:
        return [f"Consent/{entry['basis_id']}"]
    if entry["basis_kind"] == access.EMERGENCY:
        return [f"{EMERGENCY_ID}/{entry['basis_id']}"]
    return []


def _reader(entry):
    reader = {"type": _concept(V3_PARTICIPATION_TYPE, "IRCP", "information recipient"),
              "role": [_concept(ROLE_SYSTEM, entry["viewer_role"])],
              "who": fhir_people.person_ref(entry["viewer_id"], entry["viewer_role"],
                                            entry.get("viewer_name")),
              "requestor": True, "purposeOfUse": _read_purpose(entry)}
    policy = _read_policy(entry)
    if policy:
        reader["policy"] = policy
    return reader


def _observer():
    return {"display": "MedLedger", "identifier": {"system": DEVICE_ID,
                                                   "value": MEDLEDGER_OBSERVER}}


def audit_event_resource(read_entry, targets=None):
    """A sealed read (models.clinical.audit_trail) as a FHIR R4 AuditEvent shaped as IHE BALP
    PatientRead: rest/read, action R, the reader as requesting agent (and their organization),
    MedLedger as server agent and observer, the patient (role 1) and the record version
    (role 4) as entities, the read's block height in the ledger extension. `targets`: the
    version's versioned references (fhir_records.references), if the caller has them.

    The profile is not claimed in meta.profile: BALP requires the client's network address,
    which MedLedger never keeps of a reader."""
    entry = read_entry
    agents = [_reader(entry),
              {"type": _concept(DICOM, "110153", "Source Role ID"), "who": _observer(),
               "requestor": False}]
    if entry.get("org_id"):
        agents.append({"type": _concept(V3_ROLE_CLASS, "PROV", "healthcare provider"),
                       "who": fhir_people.organization_ref(entry["org_id"]),
                       "requestor": False})
    read = [{"what": what, "type": _coding(AUDIT_ENTITY_TYPE, "2", "System Object"),
             "role": _coding(OBJECT_ROLE, "4", "Domain Resource")}
            for what in _read_targets(entry, targets)]
    if entry.get("item"):
        for entity in read:
            entity["description"] = entry["item"]
    resource = {
        "resourceType": "AuditEvent", "id": f"read-{entry['_id']}",
        "type": _coding(AUDIT_EVENT_TYPE, "rest", "Restful Operation"),
        "subtype": [_coding(RESTFUL_INTERACTION, "read", "read")],
        "action": "R", "recorded": ts(entry["at"]), "outcome": "0",
        "purposeOfEvent": _read_purpose(entry),
        "agent": agents,
        "source": {"site": MEDLEDGER_OBSERVER,
                   "observer": _observer(),
                   "type": [_coding(SECURITY_SOURCE_TYPE, "4", "Application Server")]},
        "entity": [{"what": fhir_people.patient_ref(entry["patient_id"]),
                    "type": _coding(AUDIT_ENTITY_TYPE, "1", "Person"),
                    "role": _coding(OBJECT_ROLE, "1", "Patient")}] + read,
    }
    if entry.get("sealed_height") is not None:  # a read whose block is pending has none yet
        resource["extension"] = [ledger_extension(entry["sealed_height"],
                                                  audit_trail.READ_KIND)]
    return resource


# Provenance -------------------------------------------------------------------------------

def at_version(reference, version):
    """"Type/id/_history/N" for a reference with or without its version."""
    return f"{reference.split('/_history/')[0]}/_history/{version}"


def _event(doc, kind):
    """(id suffix, who, their role, on behalf of, when) of the change a block of `kind`
    sealed (only a version's author marks it entered in error)."""
    if kind == records.ERROR_KIND:
        part = doc.get("error") or {}
        return "-error", part.get("by"), doc["author_role"], None, part.get("at")
    if kind == pharmacy.DISPENSED_KIND:
        part = doc.get("dispense") or {}
        return "-dispense", part.get("by"), users.PHARMACIST, part.get("pharmacy"), part.get("at")
    return "", doc["author_id"], doc["author_role"], doc.get("org_id"), doc["created_at"]


def _seals(doc, block):
    return block.get("subject") == {"record": doc["record_id"], "version": doc["version"]} \
        and block.get("kind") in ACTIVITY


def provenance_resource(doc, targets, block):
    """The Provenance of one sealed change of a record version: `record.created` (CREATE),
    `record.amended` (UPDATE, the superseded version as `revision` entity, by identifier),
    `record.entered_in_error` (NULLIFY) or `record.dispensed` (CREATE of the
    MedicationDispense). `targets` are the version's resources (fhir_records.references);
    `block` the ledger block (see `version_blocks`): its height and leaf hash go in the
    ledger extension, as a receipt shows them. Conflict for a block of anything else."""
    if not _seals(doc, block):
        raise Conflict(f"Block {block.get('height')} does not seal {doc['record_id']} "
                       f"v{doc['version']}.")
    suffix, who, role, organization, recorded = _event(doc, block["kind"])
    activity = ACTIVITY[block["kind"]]
    dispensing = block["kind"] == pharmacy.DISPENSED_KIND
    wanted = [ref for ref in targets if ref.startswith("MedicationDispense/") == dispensing]
    author = {"type": _concept(PROVENANCE_PARTICIPANT_TYPE, "author", "Author"),
              "who": fhir_people.person_ref(who, role)}
    if organization:
        author["onBehalfOf"] = fhir_people.organization_ref(organization)
    resource = {
        "resourceType": "Provenance", "id": f"{doc['record_id']}-v{doc['version']}{suffix}",
        "extension": [ledger_extension(block["height"], block["kind"], block["hash"])],
        "target": [{"reference": at_version(ref, doc["version"])} for ref in wanted],
        "recorded": ts(recorded),
        "activity": _concept(V3_DATA_OPERATION, activity, V3_DISPLAY[activity]),
        "agent": [author],
    }
    if block["kind"] == records.AMENDED_KIND and doc.get("supersedes"):
        # By identifier: the superseded version may have mapped to other resources (a
        # vitals version without a measurement its successor has), which only its values tell.
        resource["entity"] = [{"role": "revision", "what": {
            "identifier": version_identifier(doc["record_id"], doc["supersedes"]),
            "display": f"{doc['record_id']} v{doc['supersedes']}"}}]
    return resource


def version_blocks(db, doc):
    """The blocks a version's Provenances are made for: the one that wrote it, and those
    that marked it entered in error or dispensed. A change still waiting for its block has
    no Provenance yet (reconcile seals it); a height whose block is missing or seals
    something else gets none either: the export makes no claim the chain does not back,
    and the audit reports the mismatch."""
    heights = [doc.get("sealed_height"), (doc.get("error") or {}).get("sealed_height"),
               (doc.get("dispense") or {}).get("sealed_height")]
    store = store_for(db)
    found = (store.get_block(height) for height in heights if height is not None)
    return [block for block in found if block is not None and _seals(doc, block)]


def provenance_resources(db, doc, targets):
    """Every Provenance of one record version: its write, its marking in error, its
    dispensing (a dispensing whose MedicationDispense is not among `targets`, because the
    prescription was entered in error, gets none)."""
    found = [provenance_resource(doc, targets, block) for block in version_blocks(db, doc)]
    return [resource for resource in found if resource["target"]]
