"""Double admission under concurrency, against the embedded server (real pymongo): desks
posting at the same moment for one bed, or for one patient, or moving two patients into one
free bed — exactly one wins, the others get 409, and the database holds one admission and one
hold per bed and patient."""
import threading

import pytest

from models.people import users
from models.sealing import audit_jobs
from models.storage.db import get_db
from tests.auditor_support import sealed_world, verify_through_ledger  # noqa: F401
from tests.conftest import PASSWORD
from tests.care.admission_world import ward, world  # noqa: F401

pytestmark = pytest.mark.integration
RACERS = 6


def race(app, username, posts):
    """Each (url, data) posted by its own signed-in client, all released at once; statuses."""
    clients = []
    for _ in posts:
        client = app.test_client()
        assert client.post("/login", data={"username": username,
                                           "password": PASSWORD}).status_code == 302
        clients.append(client)
    barrier, statuses = threading.Barrier(len(posts)), []

    def attempt(client, url, data):
        barrier.wait()
        statuses.append(client.post(url, data=data).status_code)
    threads = [threading.Thread(target=attempt, args=(client, url, data))
               for client, (url, data) in zip(clients, posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def _admit(patient, attending, ward_name="North", bed="1"):
    return ("/admissions/admit", {"patient_id": patient["human_id"], "ward": ward_name,
                                  "bed": bed, "reason": "Chest pain",
                                  "attending": attending["human_id"]})


def test_one_bed_many_patients_one_wins(ward, make_account):
    patients = [make_account(users.PATIENT, f"racer{i}") for i in range(RACERS)]
    statuses = race(ward.app, "desk", [_admit(p, ward.w.doctor) for p in patients])
    assert statuses == [302] + [409] * (RACERS - 1)
    db = get_db(ward.app)
    assert db.admissions.count_documents({}) == 1
    assert db.admission_holds.count_documents({}) == 2  # the bed and its one patient
    assert db.ledger_blocks.count_documents({"kind": "admission.admitted"}) == 1


def test_one_patient_many_beds_one_wins(ward):
    posts = [_admit(ward.w.patient, ward.w.doctor, bed=str(bed)) for bed in range(RACERS)]
    assert race(ward.app, "desk", posts) == [302] + [409] * (RACERS - 1)
    db = get_db(ward.app)
    assert db.admissions.count_documents({}) == 1
    assert db.admission_holds.count_documents({}) == 2  # no bed left held by a loser


def test_two_moves_into_one_free_bed_one_wins(ward):
    first = ward.admit(ward="North", bed="1")
    second = ward.admit(patient=ward.w.other_patient, ward="North", bed="2")
    posts = [(f"/admissions/{doc['admission_id']}/transfer", {"ward": "South", "bed": "9"})
             for doc in (first, second)]
    assert race(ward.app, "desk", posts) == [302, 409]
    db = get_db(ward.app)
    placed = sorted((doc["ward"], doc["bed"]) for doc in db.admissions.find())
    assert ("South", "9") in placed and len(placed) == 2
    assert db.admission_holds.count_documents({"_id": {"$regex": "^bed"}}) == 2


def test_a_stay_with_several_moves_audits_as_sound_on_the_real_server(sealed_world, ward):
    verify_through_ledger(ward.app, ward.doctor_c, ward.w.admin)
    doc = ward.admit()
    for bed in ("2", "3", "4"):
        doc = ward.transfer(doc, bed=bed)
    ward.summarize(ward.discharge(doc))
    stored = ward.fresh(doc)
    assert [move["height"] is not None for move in stored["movements"]] == [True, True, False]
    with ward.app.app_context():
        report = audit_jobs.run_audit(get_db(), ward.app)
    assert report.ok, [(p.kind, p.detail) for p in report.problems]
