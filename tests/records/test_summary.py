"""The patient summary: what it keeps (current, final versions of the right kinds), how the
patient's dashboard shows it above records grouped by type and filtered, and how a clinician
gets it — every record shown is a sealed read, a one-time grant is never used up, an
emergency opens on it."""
from datetime import timedelta

import pytest

from models.clinical import records, summary
from models.consent import workflow as consent
from models.core import clock, record_types
from models.storage.db import get_db
from tests.conftest import PASSWORD
from tests.records.world import SECRET, VALID, utc


def _login(auth, account):
    assert auth.login(account["username"]).status_code == 302


def _doc(type_name, created, record_id="PAT-000001-R1", status="final", **extra):
    return {"record_id": record_id, "version": 1, "type": type_name, "status": status,
            "created_at": created, **extra}


NOW = utc(2026, 6, 1, 12)


def _values(type_name, raw=None, **changes):
    """Values as the model stores them (cleaned: integers, fixed-point strings, derived)."""
    return record_types.TYPES[type_name].clean(dict(VALID[type_name] if raw is None else raw,
                                                    **changes), today=NOW.date())


def test_allergies_come_first_by_severity_and_only_active_problems_count():
    items = [(_doc("allergy", NOW, "R1"), _values("allergy", substance="Birch pollen",
                                                  category="environment", severity="mild")),
             (_doc("allergy", NOW, "R2"), _values("allergy")),
             (_doc("allergy", NOW, "R3", status="entered-in-error"),
              _values("allergy", substance="Wrongium")),
             (_doc("diagnosis", NOW, "R4"), _values("diagnosis")),
             (_doc("diagnosis", NOW, "R5"), _values("diagnosis", description="Old fracture",
                                                    clinical_status="resolved"))]
    built = summary.build(items, today=NOW.date())
    assert [row["substance"] for row in built["allergies"]] == ["Penicillanthrax", "Birch pollen"]
    assert built["allergies"][0]["severity_label"] == "Severe"
    assert [row["description"] for row in built["problems"]] == [VALID["diagnosis"]["description"]]


def test_current_medications_leave_out_ended_and_cancelled_courses():
    ten_days = _values("prescription", duration_days="10")
    items = [(_doc("prescription", NOW - timedelta(days=3), "R1"), ten_days),
             (_doc("prescription", NOW - timedelta(days=30), "R2"),
              dict(ten_days, medication="Finishedol")),
             (_doc("prescription", NOW, "R3", rx_status=records.RX_CANCELLED),
              dict(ten_days, medication="Cancelledine")),
             (_doc("prescription", NOW - timedelta(days=1), "R4", rx_status=records.RX_DISPENSED),
              dict(ten_days, medication="Dispensium"))]
    built = summary.build(items, today=NOW.date())
    assert [(row["medication"], row["dispensed"]) for row in built["medications"]] == \
        [("Dispensium", True), ("Quorvaxolin", False)]
    assert built["medications"][1]["until"] == (NOW + timedelta(days=7)).date()


def test_vitals_keep_each_latest_measurement_and_a_trend_of_two_points_or_more():
    first = _values("general", weight_kg="80.0", heart_rate_bpm="70")
    second = _values("general", {"weight_kg": "78.5", "height_cm": "180.0"})
    items = [(_doc("general", NOW - timedelta(days=10), "R1"), first),
             (_doc("general", NOW, "R2"), second)]
    built = summary.build(items, today=NOW.date())
    shown = {row["label"]: row["value"] for row in built["vitals"]}
    assert shown["Weight"] == "78.5" and shown["Heart rate"] == 70 and shown["BMI"] == "24.2"
    assert built["blood_group"]["value"] == "AB-"
    names = [series["name"] for series in built["trend"]["series"]]
    assert names == ["weight_kg"]  # the only series with two measurements
    assert built["trend"]["series"][0]["values"] == [80.0, 78.5]


def test_the_patient_dashboard_opens_on_the_summary_above_records_by_type(world, client, auth):
    world.write(world.doctor, "allergy")
    world.write(world.doctor, "note")
    world.write(world.doctor, "general")
    _login(auth, world.patient)
    page = client.get("/patient/")
    assert page.status_code == 200
    text = page.text
    assert text.index('data-testid="patient-summary"') < text.index('data-testid="record-section"')
    assert 'data-testid="summary-allergy" data-severity="severe"' in text
    assert "Blood group <strong>AB-</strong>" in text
    sections = [chunk.split('"', 1)[0] for chunk in text.split('data-type="')[1:]]
    assert sections == ["general", "allergy", "note"]  # the vocabulary's order
    assert text.count('data-testid="record-card"') == 3


def test_the_dashboard_filters_records_by_type_and_day(world, client, auth):
    world.write(world.doctor, "allergy")
    world.write(world.doctor, "note")
    _login(auth, world.patient)
    only = client.get("/patient/?type=note")
    assert only.status_code == 200
    assert only.text.count('data-testid="record-card"') == 1 and 'data-type="note"' in only.text
    today = clock.now().date()
    later = client.get(f"/patient/?since={today + timedelta(days=1)}")
    assert 'data-testid="no-matching-records"' in later.text
    assert client.get(f"/patient/?until={today}").text.count('data-testid="record-card"') == 2


@pytest.mark.parametrize("query, field", [("since=2026-05-02&until=2026-05-01", "since"),
                                          ("since=yesterday", "since"),
                                          ("type=xray", "type")])
def test_a_bad_filter_is_400_with_the_message_on_its_field(world, client, auth, query, field):
    world.write(world.doctor, "note")
    _login(auth, world.patient)
    page = client.get(f"/patient/?{query}")
    assert page.status_code == 400
    assert f'id="{field}-error"' in page.text and 'aria-invalid="true"' in page.text
    assert 'data-testid="patient-summary"' in page.text  # the rest of the page still works


def _summary(client, world):
    return client.get(f"/doctor/patients/{world.patient['human_id']}/summary")


def test_a_doctor_sees_only_what_is_shared_and_each_record_shown_is_a_sealed_read(
        world, client, auth):
    allergy = world.write(world.outsider, "allergy")
    world.write(world.outsider, "diagnosis")
    world.write(world.outsider, "note")  # not a summary kind: never read by the summary
    world.grant(world.doctor["human_id"], scope_kind="types", types=["allergy"])
    _login(auth, world.doctor)
    page = _summary(client, world)
    assert page.status_code == 200
    assert SECRET["allergy"] in page.text and SECRET["diagnosis"] not in page.text
    assert "1 record of these kinds is not shared with you." in page.text
    with world.app.app_context():
        reads = list(get_db().record_reads.find({}))
    assert [(read["record_id"], read["item"]) for read in reads] == \
        [(allergy["record_id"], summary.READ_ITEM)]
    assert reads[0]["sealed_height"] is not None


def test_a_one_time_grant_is_not_used_up_by_the_summary(world, client, auth):
    world.write(world.outsider, "allergy")
    grant = world.grant(world.doctor["human_id"], scope_kind="types", types=["allergy"],
                        one_time=True)
    _login(auth, world.doctor)
    page = _summary(client, world)
    assert SECRET["allergy"] not in page.text and "shared for one read only" in page.text
    assert world.find_one("grants", {"grant_id": grant["grant_id"]})["state"] == consent.APPROVED
    assert world.count("record_reads") == 0


def test_without_consent_the_summary_shows_nothing_and_reads_nothing(world, client, auth):
    world.write(world.outsider, "allergy")
    _login(auth, world.doctor)
    page = _summary(client, world)
    assert page.status_code == 200 and SECRET["allergy"] not in page.text
    assert world.count("record_reads") == 0


def test_an_emergency_opens_on_the_summary(world, client, auth):
    world.write(world.doctor, "allergy")
    world.write(world.doctor, "prescription")
    _login(auth, world.outsider)
    opened = client.post(f"/doctor/patients/{world.patient['human_id']}/emergency",
                         data={"password": PASSWORD, "reason": "Unconscious, no relative here"})
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/doctor/patients/{world.patient['human_id']}/summary")
    page = client.get(opened.headers["Location"])
    assert SECRET["allergy"] in page.text and SECRET["prescription"] in page.text
    assert {read["basis_kind"] for read in get_db(world.app).record_reads.find({})} == {"emergency"}


@pytest.mark.parametrize("role", ["patient", "pharmacist", "lab_tech", "admin", "auditor"])
def test_other_roles_get_no_clinician_summary(world, client, auth, role):
    world.write(world.doctor, "allergy")
    _login(auth, getattr(world, role))
    assert _summary(client, world).status_code == 403
    assert world.count("record_reads") == 0


def test_the_summary_of_an_unknown_patient_is_404(world, client, auth):
    _login(auth, world.doctor)
    assert client.get("/doctor/patients/PAT-999999/summary").status_code == 404


def test_a_patient_without_records_gets_an_empty_summary(world, client, auth):
    _login(auth, world.patient)
    page = client.get("/patient/")
    assert 'data-testid="summary-no-allergies"' in page.text
    assert 'data-testid="no-records"' in page.text
