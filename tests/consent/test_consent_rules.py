"""The pure rules under every consent decision, at their edges (mutation testing:
scripts/mutation consent): what a scope covers, what counts as narrowing, when a grant is in
force (to the instant, and not while its block is still pending)."""
from datetime import timedelta

import pytest

from models.consent import workflow as consent
from tests.records.world import utc

NOW = utc(2025, 6, 1, 12)
ALL = {"kind": consent.ALL}
LABS = {"kind": consent.TYPES, "types": ["lab_report"]}
LABS_AND_NOTES = {"kind": consent.TYPES, "types": ["lab_report", "note"]}
R1 = {"kind": consent.RECORDS, "records": ["PAT-000001-R1"]}
R1_R2 = {"kind": consent.RECORDS, "records": ["PAT-000001-R1", "PAT-000001-R2"]}


def _record(type_name="note", record_id="PAT-000001-R1"):
    return {"type": type_name, "record_id": record_id}


@pytest.mark.parametrize("scope, record, covered", [
    (ALL, _record("prescription", "PAT-000001-R9"), True),
    (LABS, _record("lab_report", "PAT-000001-R9"), True),
    (LABS, _record("note"), False),
    (R1, _record("prescription"), True),
    (R1, _record("note", "PAT-000001-R2"), False),
])
def test_what_a_scope_covers(scope, record, covered):
    assert consent.scope_covers(scope, record) is covered


def test_a_whole_type_is_covered_only_by_all_or_that_type():
    assert consent.scope_covers_type(ALL, "lab_report")
    assert consent.scope_covers_type(LABS, "lab_report")
    assert not consent.scope_covers_type(LABS, "note")
    assert not consent.scope_covers_type(dict(R1, types=["lab_report"]), "lab_report")


@pytest.mark.parametrize("narrow, wide, named, within", [
    (LABS, ALL, None, True),
    (LABS, LABS_AND_NOTES, None, True),
    (LABS_AND_NOTES, LABS, None, False),
    (ALL, LABS, None, False),
    (R1, LABS, {"PAT-000001-R1": "lab_report"}, True),
    (R1, LABS, {"PAT-000001-R1": "note"}, False),
    (R1, LABS, None, False),
    (R1, R1_R2, None, True),
    (R1_R2, R1, None, False),
    (LABS, R1, None, False),
])
def test_narrowing_never_widens(narrow, wide, named, within):
    assert consent.is_within(narrow, wide, named) is within


def _grant(**fields):
    grant = {"state": consent.APPROVED, "valid_from": NOW, "valid_until": NOW + timedelta(days=1),
             "request_id": None}
    grant.update(fields)
    return grant


def test_a_grant_is_in_force_from_its_first_instant_to_before_its_last():
    grant = _grant()
    assert consent.is_active(grant, NOW)
    assert not consent.is_active(grant, NOW - timedelta(milliseconds=1))
    assert consent.is_active(grant, grant["valid_until"] - timedelta(milliseconds=1))
    assert not consent.is_active(grant, grant["valid_until"])
    assert not consent.is_active(_grant(state=consent.REVOKED), NOW)


def test_a_grant_waiting_for_its_own_block_is_not_in_force():
    waiting = [{"kind": consent.GRANTED_KIND}]
    assert not consent.is_active(_grant(pending_seals=waiting), NOW)
    approved = _grant(request_id="REQ-000001", pending_seals=[{"kind": consent.APPROVED_KIND}])
    assert not consent.is_active(approved, NOW)
    other = _grant(request_id="REQ-000001", pending_seals=[{"kind": consent.GRANTED_KIND}])
    assert consent.is_active(other, NOW)  # another event's marker does not hold it back
    assert consent.grant_kind(_grant(request_id="REQ-000001")) == "access.approved"
    assert consent.grant_kind(_grant()) == "access.granted"
