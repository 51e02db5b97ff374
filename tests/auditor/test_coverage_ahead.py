"""The documents' coverage and authority codes read while the audit walks the chain
(models/sealing/audit_callbacks.CoverageCheckAhead): the findings are always those of the
check at the size walked, read once when the chain kept the size expected."""
from models.sealing import audit_callbacks, audit_jobs, registry
from models.sealing.audit_callbacks import CoverageCheck, CoverageCheckAhead
from models.sealing.seam import store_for
from models.storage.db import get_db
from tests.auditor_support import populate


def _walked(check, size):
    for height in range(size):
        check.on_block({"height": height})
    return check


def _checks(monkeypatch):
    """The sizes every coverage pass ran with, in order."""
    sizes, real = [], CoverageCheck._coverage

    def counted(self):
        sizes.append(self.size)
        return real(self)
    monkeypatch.setattr(CoverageCheck, "_coverage", counted)
    return sizes


def test_the_read_ahead_is_used_when_the_chain_has_the_size_expected(app, sealed_world,
                                                                     monkeypatch):
    populate(sealed_world)
    db = get_db(app)
    size = store_for(db).size_hint()
    sizes = _checks(monkeypatch)
    ahead = _walked(CoverageCheckAhead(db, size), size)
    try:
        assert ahead.finish() == [] and sizes == [size]
    finally:
        ahead.close()


def test_a_chain_that_changed_size_is_checked_again_at_the_size_walked(app, sealed_world,
                                                                      monkeypatch):
    """Expected one block short, the last block's document looks unsealed to the read
    ahead; the check at the size walked finds nothing."""
    populate(sealed_world)
    db = get_db(app)
    size = store_for(db).size_hint()
    assert db.ledger_blocks.find_one({"_id": size - 1}) is not None
    early = CoverageCheck(db)
    early.size = size - 1
    assert early.finish(), "the last block seals a document"
    sizes = _checks(monkeypatch)
    ahead = _walked(CoverageCheckAhead(db, size - 1), size)
    try:
        assert ahead.finish() == [] and sizes == [size - 1, size]
    finally:
        ahead.close()


def test_findings_of_the_read_ahead_are_the_checks_findings(app, sealed_world):
    made = populate(sealed_world)
    db = get_db(app)
    grant = made["grant"]
    db.grants.update_one({"_id": grant["_id"]}, {"$set": {"scope": {"kind": "all"}}})
    db.records.update_one({"_id": next(iter(made["records"].values()))["_id"]},
                          {"$set": {"sealed_height": None}})
    size = store_for(db).size_hint()
    expected = _walked(CoverageCheck(db), size).finish()
    assert {p.kind for p in expected} == {"unsealed-document", "unauthenticated-document"}
    ahead = _walked(CoverageCheckAhead(db, size), size)
    try:
        assert ahead.finish() == expected
    finally:
        ahead.close()


def test_the_full_audit_reads_the_documents_ahead(app, sealed_world, monkeypatch):
    populate(sealed_world)
    db = get_db(app)
    made = []
    real = audit_callbacks.CoverageCheckAhead

    def spy(db_, expected):
        made.append(expected)
        return real(db_, expected)
    monkeypatch.setattr(audit_jobs, "CoverageCheckAhead", spy)
    with app.app_context():
        report = audit_jobs.run_audit(db, app)
    assert report.ok and made == [report.size]


def test_a_coverage_check_that_cannot_read_a_document_is_a_finding(app, sealed_world):
    """`seals` replaced by a list stopped the appointments' check with AttributeError and
    failed the audit; now that check reads it as unsealed, and a check that still stops is
    named (the checks after it run)."""
    populate(sealed_world)
    db = get_db(app)
    grant = db.grants.find_one({"state": "revoked"})
    db.grants.update_one({"_id": grant["_id"]}, {"$set": {"seals": ["x"]}})

    def broken(db):
        yield "appointments", "APT-1", 0
        raise KeyError("appointment_id")
    registry.COVERAGE.insert(0, broken)
    try:
        found = _walked(CoverageCheck(db), store_for(db).size_hint()).finish()
    finally:
        registry.COVERAGE.remove(broken)
    details = [(p.kind, p.record, p.detail) for p in found]
    assert ("unsealed-document", f"{grant['grant_id']} revoked",
            f"grants {grant['grant_id']} revoked has no ledger block") in details
    assert ("unsealed-document", "test_coverage_ahead",
            "test_coverage_ahead: a document has a shape the app never writes (KeyError); "
            "the documents after it in that check are not checked") in details
