"""Approving or sharing named records by ticking them (readable type and date, id beside),
instead of typing PAT-000234-R12; only records within what was asked are offered."""
from models.consent import workflow as consent


def _login(auth, account):
    assert auth.login(account["username"]).status_code == 302


def _picker(text):
    start = text.index('id="picked"')
    return text[start:text.index("</ul>", start)]


def test_approving_named_records_by_ticking_them(world, client, auth):
    allergy = world.write(world.colleague, "allergy")
    note = world.write(world.colleague, "note")
    diagnosis = world.write(world.colleague, "diagnosis")
    req = world.ask(world.doctor, scope_kind="types", types=["allergy", "note"])
    _login(auth, world.patient)
    page = client.get(f"/patient/requests/{req['request_id']}")
    picker = _picker(page.text)
    assert "Allergy, " in picker and allergy["record_id"] in picker
    assert note["record_id"] in picker
    assert diagnosis["record_id"] not in picker  # not asked for: an approval never widens
    approved = client.post(f"/patient/requests/{req['request_id']}/approve", data={
        "scope": "records", "picked": [allergy["record_id"]], "duration_days": "7"})
    assert approved.status_code == 302
    grant = world.find_one("grants", {})
    assert grant["scope"] == {"kind": consent.RECORDS, "records": [allergy["record_id"]]}


def test_a_record_outside_the_request_cannot_be_ticked_in(world, client, auth):
    world.write(world.colleague, "allergy")
    diagnosis = world.write(world.colleague, "diagnosis")
    req = world.ask(world.doctor, scope_kind="types", types=["allergy"])
    _login(auth, world.patient)
    refused = client.post(f"/patient/requests/{req['request_id']}/approve", data={
        "scope": "records", "picked": [diagnosis["record_id"]], "duration_days": "7"})
    assert refused.status_code in (400, 403) and world.count("grants") == 0


def test_sharing_named_records_by_ticking_them(world, client, auth):
    note = world.write(world.colleague, "note")
    other = world.write(world.colleague, "note", patient=world.other_patient)
    _login(auth, world.patient)
    picker = _picker(client.get("/patient/grants").text)
    assert note["record_id"] in picker and other["record_id"] not in picker
    assert "Clinical note, " in picker
    shared = client.post("/patient/grants/new", data={
        "grantee": world.hospital_b["human_id"], "scope": "records", "picked": [note["record_id"]],
        "purpose": "treatment", "duration_days": "30"})
    assert shared.status_code == 302
    assert world.find_one("grants", {})["scope"]["records"] == [note["record_id"]]


def test_typing_record_ids_still_works(world, client, auth):
    note = world.write(world.colleague, "note")
    _login(auth, world.patient)
    shared = client.post("/patient/grants/new", data={
        "grantee": world.hospital_b["human_id"], "scope": "records", "records": note["record_id"],
        "purpose": "treatment", "duration_days": "30"})
    assert shared.status_code == 302


def test_a_request_for_named_records_is_described_by_type_and_date(world, client, auth):
    allergy = world.write(world.colleague, "allergy")
    req = world.ask(world.doctor, scope_kind="records", records_text=allergy["record_id"])
    _login(auth, world.patient)
    page = client.get(f"/patient/requests/{req['request_id']}").text
    assert f"Records: Allergy, {allergy['created_at']:%Y-%m-%d}" in page
    assert f"Records {allergy['record_id']}" not in page
