"""People and organizations as FHIR R4 Patient, Practitioner and Organization, and references.

A resource's id is the MedLedger human id (PAT-000001, DOC-000001, ORG-0001), and the same id
appears as an identifier in a MedLedger system (models.exchange.fhir_codes), so a consumer
can match a resource to the person across exports. Only what the account holds is mapped:
no password, key or verification document, nothing clinical.
"""
from models.core import specialties
from models.exchange import fhir_codes as codes
from models.people import organizations, users

_QUALIFICATIONS = {users.DOCTOR: "Doctor", users.PHARMACIST: "Pharmacist",
                   users.LAB_TECH: "Lab technician"}


def patient_ref(human_id, display=None):
    return _ref("Patient", human_id, display)


def practitioner_ref(human_id, display=None):
    return _ref("Practitioner", human_id, display)


def organization_ref(org_id, display=None):
    return _ref("Organization", org_id, display)


def person_ref(human_id, role, display=None):
    """A Patient reference for a patient, else a Practitioner reference (any staff account)."""
    return (patient_ref if role == users.PATIENT else practitioner_ref)(human_id, display)


def _ref(resource_type, human_id, display):
    reference = {"reference": f"{resource_type}/{human_id}"}
    if display:
        reference["display"] = display
    return reference


def _identifier(system, value):
    return [{"use": "official", "system": system, "value": value}]


def _person(resource_type, system, doc):
    """The part a Patient and a Practitioner share: id, identifier, active, name (as text:
    MedLedger keeps one name string and does not guess which part is the family name)."""
    return {"resourceType": resource_type, "id": doc["human_id"],
            "identifier": _identifier(system, doc["human_id"]),
            "active": bool(doc.get("active", True)),
            "name": [{"use": "official", "text": doc.get("name") or doc["human_id"]}]}


def patient_resource(patient_doc):
    """Patient: identifier, name, sex as gender, date of birth, e-mail and phone, the
    organization that registered them (a front desk) as managing organization."""
    profile = patient_doc.get("profile") or {}
    resource = _person("Patient", codes.PATIENT_ID, patient_doc)
    telecom = []
    if profile.get("phone"):
        telecom.append({"system": "phone", "value": profile["phone"]})
    if profile.get("email"):
        telecom.append({"system": "email", "value": profile["email"]})
    if telecom:
        resource["telecom"] = telecom
    if profile.get("sex") in ("female", "male", "other", "unknown"):
        resource["gender"] = profile["sex"]
    if profile.get("date_of_birth"):
        resource["birthDate"] = profile["date_of_birth"]
    if profile.get("registered_at"):
        resource["managingOrganization"] = organization_ref(profile["registered_at"])
    return resource


def practitioner_resource(user_doc):
    """Practitioner for any staff account: identifier, name, and for a doctor, pharmacist or
    lab technician a qualification naming the role (and a doctor's specialty)."""
    resource = _person("Practitioner", codes.STAFF_ID, user_doc)
    role = _QUALIFICATIONS.get(user_doc.get("role"))
    if role:
        specialty = specialties.label((user_doc.get("profile") or {}).get("specialty"))
        qualification = {"code": {"text": f"{role} ({specialty})" if specialty else role}}
        if user_doc.get("org_id"):
            qualification["issuer"] = organization_ref(user_doc["org_id"])
        resource["qualification"] = [qualification]
    return resource


def organization_resource(org_doc):
    """Organization: identifier, name, and its kind (hospital, clinic, laboratory, pharmacy)
    as a healthcare provider type with the kind as text."""
    kind = org_doc.get("kind")
    resource = {
        "resourceType": "Organization",
        "id": org_doc["human_id"],
        "identifier": _identifier(codes.ORGANIZATION_ID, org_doc["human_id"]),
        "active": bool(org_doc.get("active", True)),
        "name": org_doc.get("name") or org_doc["human_id"],
    }
    if kind in organizations.KIND_LABELS:
        code, display = codes.PROVIDER
        resource["type"] = [{"coding": [{"system": codes.ORGANIZATION_TYPE, "code": code,
                                         "display": display}],
                             "text": organizations.KIND_LABELS[kind]}]
    return resource
