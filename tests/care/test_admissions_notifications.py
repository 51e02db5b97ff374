"""Who an admission tells: the patient of their admission and discharge, the attending doctor
of a discharge summary to write; never the reason for admission; each link leads the person
to their page; a replay never doubles them."""
from models.notify import text
from models.storage.db import get_db
from tests.care.admission_world import ward, world  # noqa: F401

REASON = "Glimmerwort poisoning"


def notes(app, recipient, kind=None):
    query = {"recipient": recipient}
    if kind:
        query["kind"] = kind
    return sorted(get_db(app).notifications.find(query), key=lambda note: note["seq"])


def test_the_patient_is_told_of_admission_and_discharge(ward):
    doc = ward.admit(reason=REASON, ward="North", bed="3")
    [note] = notes(ward.app, ward.w.patient["human_id"], text.ADMITTED)
    assert note["about"] == {"admission": doc["admission_id"],
                             "patient": ward.w.patient["human_id"]}
    sentence = text.describe(note)
    assert sentence.startswith(f"Dora Desk ({ward.desk['human_id']}, ")
    assert f"admitted you ({doc['admission_id']}): ward North, bed 3" in sentence
    ward.transfer(doc)
    assert len(notes(ward.app, ward.w.patient["human_id"])) == 1  # a move is not news
    ward.discharge(doc)
    [out] = notes(ward.app, ward.w.patient["human_id"], text.DISCHARGED)
    assert f"recorded your discharge ({doc['admission_id']})" in text.describe(out)
    for note in get_db(ward.app).notifications.find():
        assert REASON not in repr(note)


def test_the_attending_doctor_is_told_of_the_summary_to_write(ward, client, auth):
    doc = ward.discharge(ward.admit(reason=REASON))
    [note] = notes(ward.app, ward.w.doctor["human_id"], text.SUMMARY_DUE)
    assert text.describe(note) == (
        f"Patient {ward.w.patient['human_id']} was discharged ({doc['admission_id']}): the "
        "discharge summary is yours to write.")
    assert notes(ward.app, ward.w.colleague["human_id"]) == []
    auth.login("doctor")
    opened = client.post(f"/notifications/{note['_id']}/open")
    assert opened.headers["Location"].endswith("/admissions/summaries")
    auth.logout()
    auth.login("patient")
    for told in notes(ward.app, ward.w.patient["human_id"]):
        opened = client.post(f"/notifications/{told['_id']}/open")
        assert opened.headers["Location"].endswith("/admissions/mine"), told["kind"]


def test_a_replay_does_not_notify_twice(ward, runner):
    ward.discharge(ward.admit())
    before = list(get_db(ward.app).notifications.find())
    assert len(before) == 3
    result = runner.invoke(args=["notify", "replay", "--from", "0"])
    assert result.exit_code == 0, result.output
    assert list(get_db(ward.app).notifications.find()) == before
