"""A manager's change to a doctor's directory entry tells the doctor (with a link to their
directory page); the doctor's own changes tell nobody."""
from models.notify import text
from models.storage.db import get_db
from tests.care.test_directory_pages import login


def notes(app, **query):
    return list(get_db(app).notifications.find(query))


def test_a_managers_change_tells_the_doctor(doctors, client):
    doctors.edit(doctors.manager_a, doctors.heartley, department="Ward 7")
    [note] = notes(doctors.app, recipient=doctors.heartley["human_id"])
    assert note["kind"] == text.DIRECTORY_CHANGED
    assert text.describe(note, {doctors.world.hospital_a["human_id"]: "Saint Anne Hospital"}) == (
        f"Alma Manager ({doctors.manager_a['human_id']}, Saint Anne Hospital) changed your "
        "directory entry (version 1).")
    assert "Ward 7" not in repr(note)  # the entry's values stay on the directory page
    login(client, doctors.heartley)
    opened = client.post(f"/notifications/{note['_id']}/open")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/directory/doctors/{doctors.heartley['human_id']}")


def test_a_doctors_own_change_tells_nobody(doctors):
    doctors.edit(doctors.heartley, doctors.heartley)
    assert notes(doctors.app, kind=text.DIRECTORY_CHANGED) == []
