"""The authorization matrix of every admission route by id: the patient, the hospital's desk,
manager and doctors (the attending one for the summary) get their page; another patient,
another hospital's (or a clinic's) staff and every other role get 403 or 404 and change
nothing. Plus the lists: each person sees only their own hospital's or their own stays."""
import pytest

from models.storage.db import get_db
from tests.care.admission_world import SUMMARY, ward, world  # noqa: F401

ACTORS = {  # name -> how to find the account on the Ward
    "patient": lambda wd: wd.w.patient, "other_patient": lambda wd: wd.w.other_patient,
    "desk": lambda wd: wd.desk, "desk_c": lambda wd: wd.desk_c, "desk_b": lambda wd: wd.desk_b,
    "doctor": lambda wd: wd.w.doctor, "colleague": lambda wd: wd.w.colleague,
    "doctor_c": lambda wd: wd.doctor_c, "outsider": lambda wd: wd.w.outsider,
    "manager_a": lambda wd: wd.manager_a, "manager_c": lambda wd: wd.manager_c,
    "pharmacy_manager": lambda wd: wd.w.manager, "pharmacist": lambda wd: wd.w.pharmacist,
    "lab_tech": lambda wd: wd.w.lab_tech, "admin": lambda wd: wd.w.admin,
    "auditor": lambda wd: wd.w.auditor,
}
# route -> (method, url, data, the admission's state, {actor: the owner's answer})
ROUTES = {
    "detail": ("GET", "/admissions/{id}", None, "admitted",
               {"patient": 200, "desk": 200, "doctor": 200, "colleague": 200, "manager_a": 200}),
    "transfer": ("POST", "/admissions/{id}/transfer", {"ward": "East", "bed": "5"}, "admitted",
                 {"desk": 302}),
    "discharge": ("POST", "/admissions/{id}/discharge", {"destination": "home"}, "admitted",
                  {"desk": 302}),
    "error": ("POST", "/admissions/{id}/error", {"reason": "Wrong patient"}, "admitted",
              {"desk": 302}),
    "summary-form": ("GET", "/admissions/{id}/summary", None, "discharged", {"doctor": 200}),
    "summary": ("POST", "/admissions/{id}/summary", SUMMARY, "discharged", {"doctor": 302}),
}


def _state(ward, doc):
    db = get_db(ward.app)
    return (db.admissions.find_one({"_id": doc["_id"]}), ward.counts(),
            db.admission_holds.count_documents({}))


@pytest.mark.parametrize("actor", sorted(ACTORS))
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_route_by_id_for_every_actor(ward, client, auth, route, actor):
    method, url, data, state, owners = ROUTES[route]
    doc = ward.admit()
    if state == "discharged":
        doc = ward.discharge(doc)
    before = _state(ward, doc)
    auth.login(ACTORS[actor](ward)["username"])
    response = client.open(url.format(id=doc["admission_id"]), method=method, data=data)
    if actor in owners:
        assert response.status_code == owners[actor], response.data
    else:
        assert response.status_code in (403, 404), (actor, response.status_code)
        assert _state(ward, doc) == before


def test_an_unknown_or_malformed_id_is_not_found(ward, client, auth):
    auth.login("desk")
    for admission_id in ("ADN-999999", "PAT-000001", "x" * 300):
        assert client.get(f"/admissions/{admission_id}").status_code == 404
        assert client.post(f"/admissions/{admission_id}/discharge",
                           data={"destination": "home"}).status_code == 404


def test_the_board_and_the_history_show_only_the_own_hospital(ward, client, auth):
    mine = ward.admit(reason="Thundermoss fever")
    theirs = ward.admit(patient=ward.w.other_patient, desk=ward.desk_c, attending=ward.doctor_c)
    for username, sees_reason in (("desk", False), ("managera", False), ("doctor", True),
                                  ("colleague", True)):
        auth.login(username)
        for url in ("/admissions/board", "/admissions/history"):
            page = client.get(url).data
            assert mine["admission_id"].encode() in page, (username, url)
            assert theirs["admission_id"].encode() not in page, (username, url)
        assert (b"Thundermoss" in client.get("/admissions/board").data) == sees_reason, username
        auth.logout()
    auth.login("deskc")
    page = client.get("/admissions/board").data
    assert theirs["admission_id"].encode() in page and mine["admission_id"].encode() not in page


def test_patients_see_their_own_stays_and_doctors_their_own_in_patients(ward, client, auth):
    mine = ward.admit()
    other = ward.admit(patient=ward.w.other_patient, bed="2", attending=ward.w.colleague)
    auth.login("patient")
    page = client.get("/admissions/mine").data
    assert mine["admission_id"].encode() in page and other["admission_id"].encode() not in page
    auth.logout()
    auth.login("doctor")
    page = client.get("/admissions/inpatients").data
    assert mine["admission_id"].encode() in page and other["admission_id"].encode() not in page


def test_a_clinic_desk_is_told_admissions_are_for_hospitals(ward, client, auth):
    auth.login("deskb")
    page = client.get("/admissions/admit")
    assert page.status_code == 200 and b"not-a-hospital" in page.data
    counts = ward.counts()
    response = client.post("/admissions/admit", data={
        "patient_id": ward.w.patient["human_id"], "ward": "A", "bed": "1",
        "attending": ward.w.outsider["human_id"], "reason": "Fever"})
    assert response.status_code == 403 and ward.counts() == counts
