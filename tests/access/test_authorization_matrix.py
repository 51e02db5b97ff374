"""A doctor of another hospital opens a patient's chart: every row is there, hidden, with the
reason, and no value of any of them. (The IDOR matrix of every route with an id, derived from
the url_map with an owner control for each, is tests/access/test_idor_matrix.py; it replaced
the hand-written list of 22 URLs that was here.)"""
from tests.records.world import PDF, SECRET, upload


def test_a_doctor_of_another_hospital_sees_only_hidden_rows(world, client, auth):
    world.write(world.outsider, "note")
    world.write(world.patient, "patient_provided", uploads=[upload(PDF, "mine.pdf")])
    world.write(world.outsider, "prescription")
    auth.login(world.doctor["username"])
    page = client.get(f"/doctor/patients/{world.patient['human_id']}")
    assert page.status_code == 200
    assert page.text.count('data-testid="hidden-reason"') == 3
    assert "Hidden: no consent" in page.text
    for secret in (SECRET["note"], SECRET["prescription"], SECRET["patient_provided"]):
        assert secret not in page.text
