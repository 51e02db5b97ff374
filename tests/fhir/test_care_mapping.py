"""Appointments and admissions as FHIR R4 Appointment and Encounter, made through the care
models, each checked three ways (tests/fhir/validation.py) and by value: the status of each
state, times, participants and their answers, the beds of a stay, the discharge disposition,
and the reason only for a viewer who may read it."""
from datetime import timedelta

import pytest

from models.care import appointments
from models.core.clock import ts
from models.exchange import fhir_care, fhir_ledger
from models.sealing.seam import store_for
from models.storage.db import get_db
from tests.care import support
from tests.care.admission_world import ward, world  # noqa: F401
from tests.fhir.validation import check_resource


def as_appointment(appt, **flags):
    resource = fhir_care.appointment_resource(appt, **flags)
    check_resource(resource)
    starts = "start" in resource and "end" in resource
    assert starts or resource["status"] in ("proposed", "cancelled", "waitlist")  # app-3
    return resource


def as_encounter(doc, **flags):
    resource = fhir_care.encounter_resource(doc, **flags)
    check_resource(resource)
    return resource


def block_at(app, height):
    return store_for(get_db(app)).get_block(height)


def parties(resource):
    return {p["actor"]["reference"].split("/")[0]: p["status"] for p in resource["participant"]}


# Appointment ----------------------------------------------------------------------------------

def test_a_booking_is_proposed_then_booked_with_its_times_and_answers(ward):
    w = ward.w
    support.publish(w)
    appt = support.book(w, start=support.future_slot(3, 9))
    proposed = as_appointment(appt)
    assert proposed["status"] == "proposed"
    assert parties(proposed) == {"Patient": "accepted", "Practitioner": "needs-action"}
    assert [p["actor"]["reference"] for p in proposed["participant"]] == [
        f"Patient/{w.patient['human_id']}", f"Practitioner/{w.doctor['human_id']}"]
    assert proposed["start"] == ts(appt["start"])
    assert proposed["end"] == ts(appt["start"] + timedelta(minutes=30))
    assert proposed["minutesDuration"] == 30
    booked = as_appointment(support.act(w, appt, w.doctor, "accepted"))
    assert booked["status"] == "booked"
    assert parties(booked) == {"Patient": "accepted", "Practitioner": "accepted"}
    assert proposed["extension"] == [
        fhir_ledger.ledger_extension(appt["sealed_height"], "appointment.requested")]
    accepted = support.fresh(w, appt)["seals"]["accepted"]["height"]
    assert booked["extension"] == [fhir_ledger.ledger_extension(accepted, "appointment.accepted")]
    block = block_at(w.app, accepted)  # the block that sealed the status shown
    assert (block["kind"], block["subject"]) == (
        "appointment.accepted", {"appointment": appt["appointment_id"]})


def test_the_reason_appears_only_for_a_viewer_who_may_read_it(ward):
    w = ward.w
    support.publish(w)
    appt = support.book(w, reason="Recurring Flumphwhistle headaches")
    hidden = as_appointment(appt)
    assert "Flumphwhistle" not in repr(hidden) and "reasonCode" not in hidden
    shown = as_appointment(appt, show_reason=True)
    assert shown["reasonCode"] == [{"text": "Recurring Flumphwhistle headaches"}]


def _walk(ward, *steps, start=None):
    """An appointment taken through `steps` ((actor name, action, now offset from start))."""
    w = ward.w
    actors = {"patient": w.patient, "doctor": w.doctor, "desk": ward.desk}
    start = start or support.future_slot(3, 10)
    appt = support.book(w, start=start)
    for actor, action, offset in steps:
        appt = support.act(w, appt, actors[actor], action,
                           now=None if offset is None else start + offset)
    return appt


STATES = {
    "booked": [("doctor", "accepted", None)],
    "arrived": [("doctor", "accepted", None), ("desk", "arrived", None)],
    "fulfilled": [("doctor", "accepted", None), ("desk", "arrived", None),
                  ("doctor", "fulfilled", None)],
    "noshow": [("doctor", "accepted", None), ("doctor", "noshow", timedelta(minutes=20))],
    "cancelled": [("patient", "cancelled", None)],
    "entered-in-error": [("doctor", "entered_in_error", None)],
}


@pytest.mark.parametrize("status", sorted(STATES))
def test_each_appointment_status_is_fhirs_own(ward, status):
    support.publish(ward.w)
    resource = as_appointment(_walk(ward, *STATES[status]))
    assert resource["status"] == status
    assert "start" in resource and "comment" not in resource


def test_a_declined_booking_is_cancelled_with_the_doctors_answer(ward):
    support.publish(ward.w)
    resource = as_appointment(_walk(ward, ("doctor", "declined", None)))
    assert resource["status"] == "cancelled"
    assert parties(resource) == {"Patient": "accepted", "Practitioner": "declined"}


def test_a_request_without_a_time_entered_in_error_is_exported_as_cancelled(ward):
    w = ward.w
    appt = support.ask(w, ward.manager_a, reason="Knee pain when Gribbleskating")
    pending = as_appointment(appt, show_reason=True)
    assert pending["status"] == "proposed" and "start" not in pending
    assert pending["patientInstruction"] == "Preferred days: Tuesday mornings"
    wrong = support.act(w, appt, ward.desk, "entered_in_error", note="Wrong patient chosen")
    assert wrong["status"] == appointments.ENTERED_IN_ERROR
    resource = as_appointment(wrong)
    assert resource["status"] == "cancelled"
    assert resource["comment"] == "MedLedger status: entered-in-error"


# Encounter ------------------------------------------------------------------------------------

def test_a_current_stay_is_an_inpatient_encounter_in_progress(ward):
    w = ward.w
    doc = ward.admit(ward="North", bed="4", reason="Chest pain and Wobblethrum")
    resource = as_encounter(doc)
    assert resource["status"] == "in-progress"
    assert resource["class"]["code"] == "IMP"
    assert resource["subject"]["reference"] == f"Patient/{w.patient['human_id']}"
    assert resource["serviceProvider"] == {"reference": f"Organization/{w.hospital_a['human_id']}"}
    [attending] = resource["participant"]
    assert attending["type"][0]["coding"][0]["code"] == "ATND"
    assert attending["individual"]["reference"] == f"Practitioner/{w.doctor['human_id']}"
    assert resource["period"] == {"start": ts(doc["admitted_at"])}
    [bed] = resource["location"]
    assert (bed["location"]["display"], bed["status"]) == ("Ward North, bed 4", "active")
    assert "hospitalization" not in resource
    assert resource["extension"] == [
        fhir_ledger.ledger_extension(doc["sealed_height"], "admission.admitted")]
    assert block_at(w.app, doc["sealed_height"])["kind"] == "admission.admitted"
    assert "Wobblethrum" not in repr(resource)
    assert as_encounter(doc, show_reason=True)["reasonCode"] == [
        {"text": "Chest pain and Wobblethrum"}]


def test_a_discharged_stay_is_finished_with_its_beds_and_disposition(ward):
    doc = ward.admit(ward="North", bed="4")
    moved = ward.transfer(doc, ward="South", bed="7")
    out = ward.discharge(moved, destination="care_facility")
    resource = as_encounter(out)
    assert resource["status"] == "finished"
    assert resource["period"] == {"start": ts(out["admitted_at"]),
                                  "end": ts(out["discharge"]["at"])}
    first, second = resource["location"]
    move_at = ts(out["movements"][0]["at"])
    assert first["location"]["display"] == "Ward North, bed 4"
    assert first["period"] == {"start": resource["period"]["start"], "end": move_at}
    assert second["location"]["display"] == "Ward South, bed 7"
    assert second["period"] == {"start": move_at, "end": resource["period"]["end"]}
    assert {bed["status"] for bed in resource["location"]} == {"completed"}
    disposition = resource["hospitalization"]["dischargeDisposition"]
    assert disposition["coding"][0] == {"system": fhir_care.DISCHARGE_DISPOSITION_SYSTEM,
                                        "code": "snf", "display": "Skilled nursing facility"}
    assert disposition["text"] == "Care or nursing facility"
    height = ward.fresh(out)["seals"]["discharged"]["height"]
    assert resource["extension"] == [
        fhir_ledger.ledger_extension(height, "admission.discharged")]
    assert block_at(ward.app, height)["subject"] == {"admission": out["admission_id"]}


def test_a_stay_entered_in_error_is_an_encounter_entered_in_error(ward):
    resource = as_encounter(ward.mark_in_error(ward.admit()))
    assert resource["status"] == "entered-in-error"
    assert "end" not in resource["period"]
