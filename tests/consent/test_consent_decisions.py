"""Each decision on a request at its edges (mutation testing: scripts/mutation consent): who
decided and when, the words the patient is shown, what an approval's duration accepts, a
decision sealed so that the audit can check it, and nothing left behind when an approval loses
its race."""
from datetime import timedelta

import pytest

from models.consent import workflow as consent
from models.core.errors import Conflict, InvalidInput, NotFound
from models.sealing.audit_jobs import run_audit
from models.storage.db import get_db
from tests.records.world import utc


def _request(world, request_id):
    return world.find_one("access_requests", {"request_id": request_id})


def _reject(world, request_id, **kwargs):
    with world.app.app_context():
        return consent.reject(get_db(), patient=world.patient, request_id=request_id, **kwargs)


def _sound(world):
    with world.app.app_context():
        report = run_audit(get_db(), world.app)
    assert report.ok, report.lines()


def test_an_approval_names_its_grant_who_decided_and_when(sealed_world):
    world = sealed_world
    req = world.ask(world.doctor, days=7)
    at = utc(2025, 3, 1, 9)
    grant = world.approve(req["request_id"], now=at)
    stored = _request(world, req["request_id"])
    assert stored["grant_id"] == grant["grant_id"]
    assert stored["decided_by"] == world.patient["human_id"]
    assert stored["decided_at"] == grant["valid_from"]
    assert stored["decided_at"].replace(tzinfo=None) == at.replace(tzinfo=None)
    assert grant["one_time"] is False  # not asked for, not chosen
    _sound(world)


def test_a_second_decision_is_told_what_happened(world):
    req = world.ask(world.doctor)
    world.approve(req["request_id"])
    with pytest.raises(Conflict) as caught:
        _reject(world, req["request_id"])
    assert str(caught.value) == "This request was already approved: nothing was changed."


def test_a_rejection_says_who_and_when_and_keeps_no_empty_note(sealed_world):
    world = sealed_world
    req = world.ask(world.doctor)
    decided = _reject(world, req["request_id"])
    assert decided["decision_note"] is None
    assert decided["decided_by"] == world.patient["human_id"]
    assert decided["decided_at"] is not None
    _sound(world)


def test_a_rejection_note_of_the_maximum_length_is_kept_one_more_is_refused(world):
    longest = "n" * consent.MAX_MESSAGE_LENGTH
    kept = _reject(world, world.ask(world.doctor)["request_id"], note=longest)
    assert kept["decision_note"] == longest
    req = world.ask(world.doctor)
    with pytest.raises(InvalidInput) as caught:
        _reject(world, req["request_id"], note=longest + "n")
    problem = f"Use at most {consent.MAX_MESSAGE_LENGTH} characters."
    assert str(caught.value) == problem and caught.value.field_errors == {"note": problem}
    assert _request(world, req["request_id"])["state"] == consent.PENDING


def test_a_longer_or_wider_approval_is_refused_with_the_words_the_patient_sees(world):
    req = world.ask(world.doctor, scope_kind=consent.TYPES, types=["note"], days=30)
    with pytest.raises(InvalidInput) as caught:
        world.approve(req["request_id"], duration_days=31, scope={"kind": consent.ALL})
    assert str(caught.value) == "Check the highlighted fields."
    assert caught.value.field_errors == {
        "duration_days": "Choose at most the 30 day(s) asked for (you can shorten the period, "
                         "not extend it).",
        "scope": "You can narrow what was asked for, not widen it."}
    assert world.count("grants") == 0


@pytest.mark.parametrize("days", ["abc", "2.5", "0", "-1"])
def test_an_approval_for_a_duration_that_is_not_a_whole_positive_number_is_refused(world, days):
    req = world.ask(world.doctor, days=7)
    with pytest.raises(InvalidInput) as caught:
        world.approve(req["request_id"], duration_days=days)
    assert set(caught.value.field_errors) == {"duration_days"}
    assert world.count("grants") == 0


@pytest.mark.parametrize("days", [None, ""])
def test_an_approval_without_a_duration_grants_the_days_asked_for(world, days):
    req = world.ask(world.doctor, days=7)
    grant = world.approve(req["request_id"], duration_days=days)
    assert grant["valid_until"] - grant["valid_from"] == timedelta(days=7)


def test_the_same_named_records_are_within_what_was_asked(world):
    first, second = world.write(world.doctor, "note"), world.write(world.doctor, "allergy")
    named = [first["record_id"], second["record_id"]]
    req = world.ask(world.doctor, scope_kind=consent.RECORDS, records_text=" ".join(named))
    grant = world.approve(req["request_id"], scope={"kind": consent.RECORDS, "records": named})
    assert grant["scope"]["records"] == named


def test_an_approval_that_loses_its_race_leaves_no_grant(world, monkeypatch):
    """The patient's other tab rejects between the grant's insert and the request's decision."""
    req = world.ask(world.doctor)
    real = consent._decide

    def rejected_meanwhile(db, patient, request_id, to_state, extra, sealing=None):
        if to_state == consent.APPROVED:
            real(db, patient, request_id, consent.REJECTED, {"decision_note": None})
        return real(db, patient, request_id, to_state, extra, sealing)

    monkeypatch.setattr(consent, "_decide", rejected_meanwhile)
    with pytest.raises(Conflict, match="already rejected"):
        world.approve(req["request_id"])
    assert world.count("grants") == 0


def test_a_cancellation_is_sealed_so_the_audit_checks_it(sealed_world):
    world = sealed_world
    req = world.ask(world.doctor)
    with world.app.app_context():
        with pytest.raises(NotFound) as caught:
            consent.cancel(get_db(), user=world.colleague, request_id=req["request_id"])
        assert str(caught.value) == "There is no such request of yours."
        assert consent.cancel(get_db(), user=world.doctor,
                              request_id=req["request_id"])["state"] == "cancelled"
    stored = _request(world, req["request_id"])
    assert stored["decided_by"] == world.doctor["human_id"] and stored["decided_at"] is not None
    _sound(world)


def _grant_doc(world, grant):
    return world.find_one("grants", {"grant_id": grant["grant_id"]})


def test_a_revocation_says_who_and_when_and_is_sealed_for_the_audit(sealed_world):
    world = sealed_world
    made = world.grant(world.doctor["human_id"], days=7)
    at = made["valid_from"] + timedelta(hours=1)
    with world.app.app_context():
        revoked = consent.revoke(get_db(), patient=world.patient, grant_id=made["grant_id"],
                                 now=at)
    assert revoked["ended_by"] == world.patient["human_id"]
    assert revoked["ended_at"].replace(tzinfo=None) == at.replace(tzinfo=None)
    _sound(world)


def test_a_grant_ends_at_its_last_instant_by_the_system_and_once(sealed_world):
    world = sealed_world
    made = world.grant(world.doctor["human_id"], days=1, now=utc(2020, 1, 1))
    stale = _grant_doc(world, made)
    end = stale["valid_until"]
    with world.app.app_context():
        before = consent.notice_expiry(get_db(), stale, end - timedelta(milliseconds=1))
        assert before["state"] == consent.APPROVED
        expired = consent.notice_expiry(get_db(), stale, end)
        again = consent.notice_expiry(get_db(), stale, end)  # someone else expired it first
    assert expired["state"] == again["state"] == consent.EXPIRED
    assert again["grant_id"] == made["grant_id"]
    assert (expired["ended_by"], expired["ended_at"]) == ("system", end)
    _sound(world)


def test_a_one_time_grant_used_names_the_record_read(sealed_world):
    world = sealed_world
    note = world.write(world.doctor, "note")
    made = world.grant(world.doctor["human_id"], one_time=True)
    at = made["valid_from"] + timedelta(minutes=5)
    with world.app.app_context():
        assert consent.use_once(get_db(), _grant_doc(world, made), world.doctor,
                                note["record_id"], at)
    used = _grant_doc(world, made)
    assert (used["state"], used["used_record"]) == (consent.USED, note["record_id"])
    assert used["ended_at"].replace(tzinfo=None) == at.replace(tzinfo=None)
    _sound(world)


def test_only_a_one_time_grant_is_used_up_by_a_read(world):
    note = world.write(world.doctor, "note")
    made = world.grant(world.doctor["human_id"])
    with world.app.app_context():
        assert consent.use_once(get_db(), _grant_doc(world, made), world.doctor,
                                note["record_id"], made["valid_from"]) is False
    assert _grant_doc(world, made)["state"] == consent.APPROVED


def test_a_revocation_refused_says_why(world):
    made = world.grant(world.doctor["human_id"])
    with world.app.app_context():
        with pytest.raises(NotFound) as foreign:
            consent.revoke(get_db(), patient=world.other_patient, grant_id=made["grant_id"])
        consent.revoke(get_db(), patient=world.patient, grant_id=made["grant_id"])
        with pytest.raises(Conflict) as twice:
            consent.revoke(get_db(), patient=world.patient, grant_id=made["grant_id"])
    assert str(foreign.value) == "There is no such grant."
    assert str(twice.value) == "This grant is already revoked: nothing was changed."
