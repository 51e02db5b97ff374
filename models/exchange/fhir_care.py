"""The hospital's everyday work in FHIR R4: appointments as Appointment, admissions as
Encounter (class IMP).

Pure mappings over the documents models/care keeps. The reason for an appointment or a stay
is clinical: it appears only when the caller says the viewer may read it (`show_reason`,
decided by the care models' own rules, e.g. admissions.sees_reason), never by default.
"""
from models.care import admission_rules, admission_seals, admissions, appointments
from models.core.clock import ts
from models.exchange import fhir_codes as codes
from models.exchange import fhir_ledger, fhir_people

_THO = "http://terminology.hl7.org/CodeSystem/"
DISCHARGE_DISPOSITION_SYSTEM = _THO + "discharge-disposition"
LOCATION_PHYSICAL_TYPE = _THO + "location-physical-type"
ENCOUNTER_STATUS = {admissions.ADMITTED: "in-progress", admissions.DISCHARGED: "finished",
                    admissions.ENTERED_IN_ERROR: "entered-in-error"}
DISCHARGE_DISPOSITION = {"home": ("home", "Home"),
                         "other_hospital": ("other-hcf", "Other healthcare facility"),
                         "care_facility": ("snf", "Skilled nursing facility"),
                         "against_advice": ("aadvice", "Left against advice"),
                         "deceased": ("exp", "Expired"), "other": ("oth", "Other")}
"""admission_rules.DESTINATIONS as HL7 discharge-disposition codes."""
STAY_EVENTS = (("discharged", admission_seals.DISCHARGED_KIND),
               ("entered_in_error", admission_seals.ERROR_KIND),
               ("transferred", admission_seals.TRANSFERRED_KIND),
               ("admitted", admission_seals.ADMITTED_KIND))
"""The blocks that set what an Encounter shows, newest first (the summary's link is the
discharge summary's, not the stay's)."""
UNTIMED = (appointments.PROPOSED, appointments.CANCELLED)
"""The only statuses FHIR lets an Appointment have without start and end (invariant app-3)."""


def _reason(text):
    return [{"text": text}] if text else []


# Appointment ----------------------------------------------------------------------------------

def appointment_status(appt):
    """The model's statuses are FHIR's own; a request entered in error before it ever had a
    time is exported as cancelled (FHIR requires a time of every other status: app-3)."""
    if appt["status"] not in UNTIMED and not appt.get("start"):
        return appointments.CANCELLED
    return appt["status"]


def appointment_resource(appt, *, show_reason=False):
    """An appointment (models.care.appointments) as a FHIR R4 Appointment."""
    parties = appt.get("participants") or {}
    resource = {
        "resourceType": "Appointment", "id": appt["appointment_id"],
        "extension": fhir_ledger.latest_seal(appt, [
            (entry["action"], appointments.BY_ACTION[entry["action"]].kind)
            for entry in reversed(appt.get("history") or [])]),
        "identifier": [{"system": codes.APPOINTMENT_ID, "value": appt["appointment_id"]}],
        "status": appointment_status(appt),
        "created": ts(appt["created_at"]),
        "participant": [
            {"actor": fhir_people.patient_ref(appt["patient_id"], appt.get("patient_name")),
             "required": "required",
             "status": parties.get(appointments.PATIENT, appointments.NEEDS_ACTION)},
            {"actor": fhir_people.practitioner_ref(appt["doctor_id"], appt.get("doctor_name")),
             "required": "required",
             "status": parties.get(appointments.DOCTOR, appointments.NEEDS_ACTION)},
        ],
    }
    if appt.get("start"):
        resource["start"], resource["end"] = ts(appt["start"]), ts(appt["end"])
        resource["minutesDuration"] = int((appt["end"] - appt["start"]).total_seconds() // 60)
    if resource["status"] != appt["status"]:
        resource["comment"] = f"MedLedger status: {appt['status']}"
    if show_reason:
        resource["reasonCode"] = _reason(appt.get("reason"))
        if appt.get("preferred_days"):
            resource["patientInstruction"] = f"Preferred days: {appt['preferred_days']}"
    return {name: value for name, value in resource.items() if value != []}


# Encounter ------------------------------------------------------------------------------------

def _bed(ward, bed, start, end, current):
    return {"location": {"display": f"Ward {ward}, bed {bed}"},
            "status": "active" if current else "completed",
            "physicalType": {"coding": [{"system": LOCATION_PHYSICAL_TYPE, "code": "bd",
                                         "display": "Bed"}]},
            "period": dict({"start": ts(start)}, **({"end": ts(end)} if end else {}))}


def _beds(doc, end):
    """Each bed of the stay with its period: the admission's, then one per movement."""
    moves = doc.get("movements") or []
    first = doc.get("admitted") or {}
    stays = [(first.get("ward", doc["ward"]), first.get("bed", doc["bed"]), doc["admitted_at"])]
    stays += [(move["ward"], move["bed"], move["at"]) for move in moves]
    beds = []
    for index, (ward, bed, start) in enumerate(stays):
        last = index == len(stays) - 1
        beds.append(_bed(ward, bed, start, end if last else stays[index + 1][2],
                         last and doc["status"] == admissions.ADMITTED))
    return beds


def encounter_resource(admission, *, show_reason=False):
    """An admission (models.care.admissions) as a FHIR R4 Encounter of class IMP."""
    doc = admission
    out = doc.get("discharge") or {}
    end = out.get("at")
    resource = {
        "resourceType": "Encounter", "id": doc["admission_id"],
        "extension": fhir_ledger.latest_seal(doc, STAY_EVENTS),
        "identifier": [{"system": codes.ADMISSION_ID, "value": doc["admission_id"]}],
        "status": ENCOUNTER_STATUS[doc["status"]],
        "class": {"system": fhir_ledger.V3_ACT_CODE, "code": "IMP",
                  "display": "inpatient encounter"},
        "subject": fhir_people.patient_ref(doc["patient_id"], doc.get("patient_name")),
        "participant": [{
            "type": [{"coding": [{"system": fhir_ledger.V3_PARTICIPATION_TYPE, "code": "ATND",
                                  "display": "attender"}]}],
            "individual": fhir_people.practitioner_ref(doc["attending"],
                                                       doc.get("attending_name"))}],
        "period": dict({"start": ts(doc["admitted_at"])}, **({"end": ts(end)} if end else {})),
        "location": _beds(doc, end),
        "serviceProvider": fhir_people.organization_ref(doc["org_id"]),
    }
    if out.get("destination"):
        code, display = DISCHARGE_DISPOSITION[out["destination"]]
        resource["hospitalization"] = {"dischargeDisposition": {
            "coding": [{"system": DISCHARGE_DISPOSITION_SYSTEM, "code": code, "display": display}],
            "text": admission_rules.DESTINATION_LABELS[out["destination"]]}}
    if show_reason and doc.get("reason"):
        resource["reasonCode"] = _reason(doc["reason"])
    return {name: value for name, value in resource.items() if value != []}
