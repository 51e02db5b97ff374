"""Patient and clinician pages speak plainly: "Verified on the ledger ✓" with a link to what it
proves instead of heights and hashes, and why a record may be read in words, not grant ids."""
from tests.records.world import upload

LEDGER_WORDS = ("sealed at height", "SHA-256", "allowed:", "You read this under")


def _login(auth, account):
    assert auth.login(account["username"]).status_code == 302


def _plain(text):
    for words in LEDGER_WORDS:
        assert words not in text, words


def test_the_patient_sees_verified_on_the_ledger_with_a_details_link(world, client, auth):
    doc = world.write(world.doctor, "imaging", uploads=[upload()])
    _login(auth, world.patient)
    page = client.get(f"/patient/records/{doc['record_id']}/v1").text
    assert "Verified on the ledger ✓" in page
    assert f"/patient/records/{doc['record_id']}/v1/receipt" in page
    assert "Saint Anne Hospital" in page  # the organization by name
    _plain(page)
    dashboard = client.get("/patient/").text
    assert "Verified on the ledger ✓" in dashboard
    _plain(dashboard)


def test_the_doctor_reads_why_in_words(world, client, auth):
    mine = world.write(world.doctor, "note")
    theirs = world.write(world.colleague, "allergy")
    grant = world.grant(world.doctor["human_id"], scope_kind="types", types=["allergy"])
    _login(auth, world.doctor)
    page = client.get(f"/doctor/patients/{world.patient['human_id']}").text
    assert "because you wrote it" in page
    assert "because the patient shared it with you until" in page
    assert "Shared with you: Allergy" in page and grant["grant_id"] not in page
    _plain(page)
    record = client.get(f"/doctor/records/{theirs['record_id']}/v1").text
    assert "You can read this because the patient shared it with you" in record
    _plain(record)
    own = client.get(f"/doctor/records/{mine['record_id']}/v1").text
    assert f"/doctor/records/{mine['record_id']}/v1/receipt" in own  # the author's receipt


def test_the_patient_reads_who_saw_what_under_which_permission_in_words(world, client, auth):
    theirs = world.write(world.colleague, "allergy")
    world.grant(world.doctor["human_id"])
    _login(auth, world.doctor)
    assert client.get(f"/doctor/records/{theirs['record_id']}/v1").status_code == 200
    auth.logout()
    _login(auth, world.patient)
    log = client.get("/patient/access-log").text
    assert "with your permission" in log and "grant GRT-" not in log


def test_the_doctors_lists_name_the_patients(world, client, auth):
    world.ask(world.doctor)             # asked first: a request is refused once a grant covers it
    world.grant(world.doctor["human_id"])
    _login(auth, world.doctor)
    dashboard = client.get("/doctor/").text
    assert dashboard.count("Pat Patient") >= 2  # the access held and the request sent
    assert "GRT-" not in dashboard and "REQ-" not in dashboard
    assert "Pat Patient" in client.get("/doctor/requests").text
    assert "Request access to Pat Patient" in client.get(
        f"/doctor/patients/{world.patient['human_id']}/request-access").text
