"""The disable, re-enable and setup-code events are audited like every other block: an insider who
edits what an `organization.enabled` event says it restored, or deletes an event, is named by
the audit at that block's height."""
from models.people import account_events
from models.sealing import audit_jobs
from models.storage.db import get_db


def _problems(app):
    with app.app_context():
        report = audit_jobs.run_audit(get_db(), app)
    return {(problem.kind, problem.height) for problem in report.problems}


def _events(world):
    with world.app.app_context():
        db = get_db()
        account_events.disable_organization(db, world.lab["human_id"], world.admin)
        account_events.enable_organization(db, world.lab["human_id"], world.admin)
        account_events.reissue_setup_code(db, world.lab_tech["human_id"], world.admin, rounds=4)
        return list(db.account_events.find({}))


def test_the_events_audit_as_sound(sealed_world):
    events = _events(sealed_world)
    assert [event["kind"] for event in events] == [account_events.ORGANIZATION_DISABLED,
                                                   account_events.ORGANIZATION_ENABLED,
                                                   account_events.CODE_REISSUED]
    assert events[0]["details"] == events[1]["details"] == {
        "accounts": [sealed_world.lab_tech["human_id"]]}
    assert _problems(sealed_world.app) == set()


def test_an_edited_list_of_restored_accounts_is_named(sealed_world):
    _, enabled, _ = _events(sealed_world)
    with sealed_world.app.app_context():
        get_db().account_events.update_one({"_id": enabled["_id"]}, {"$set": {
            "details.accounts": [sealed_world.lab_tech["human_id"], sealed_world.doctor["human_id"]]}})
    assert ("attribute-mismatch", enabled["sealed_height"]) in _problems(sealed_world.app)


def test_a_deleted_event_is_named(sealed_world):
    _, _, reissued = _events(sealed_world)
    with sealed_world.app.app_context():
        get_db().account_events.delete_one({"_id": reissued["_id"]})
    assert ("missing-document", reissued["sealed_height"]) in _problems(sealed_world.app)


def test_a_deleted_disable_is_named(sealed_world):
    disabled, _, _ = _events(sealed_world)
    with sealed_world.app.app_context():
        get_db().account_events.delete_one({"_id": disabled["_id"]})
    assert ("missing-document", disabled["sealed_height"]) in _problems(sealed_world.app)
