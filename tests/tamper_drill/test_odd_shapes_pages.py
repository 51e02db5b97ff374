"""The auditor's pages show what an insider wrote, whatever its shape: every field of the
documents they read (blocks, checkpoints, daily counts, emergencies and the reads made under
them) is removed or given an odd shape in turn, and every page still answers, never 500.

Found by this drill: a block whose subject, leaves or hash is no longer text or a mapping;
a checkpoint root that is no string, or its note removed; a daily count with an unhashable kind or a count that
is no integer; an emergency whose window or sealing height is no date or integer (its page,
the queue, and a doctor's record pages, which compared the window before its MAC).
"""
from models.storage.db import get_db
from tests.auditor_support import login
from tests.tamper_drill.test_odd_shapes_drill import ODD, paths, tamper

READ_BY_THE_PAGES = ("ledger_blocks", "ledger_checkpoints", "ledger_daily", "ledger_meta",
                     "emergencies", "record_reads")


def _urls(db, block_height):
    emergency = db.emergencies.find_one()["emergency_id"]
    return ["/auditor/", "/auditor/blocks", f"/auditor/blocks/{block_height}",
            "/auditor/blocks/0", "/auditor/checkpoints", "/auditor/emergencies",
            f"/auditor/emergencies/{emergency}", "/auditor/audits"]


def _failing(client, urls, tampered):
    found = []
    for url in urls:
        try:
            status = client.get(url).status_code
        except NotImplementedError as exc:  # mongomock cannot sort mixed types; a server can
            assert "Mongomock" in str(exc), exc
            continue
        if status >= 500:
            found.append((*tampered, url, status))
    return found


def test_every_auditor_page_answers_whatever_shape_a_field_has(rich_world, client):
    app = rich_world.app
    login(client, rich_world.auditor)
    failures, tried = [], 0
    with app.app_context():
        db = get_db()
        read = db.record_reads.find_one({"basis_kind": "emergency"})
        for name in READ_BY_THE_PAGES:
            doc = read if name == "record_reads" else db[name].find_one()
            height = doc["_id"] if name == "ledger_blocks" else 1
            urls = _urls(db, height)
            assert all(client.get(url).status_code == 200 for url in urls)
            for path, value in ((path, value) for path in paths(doc) for value in ODD):
                try:
                    tamper(db[name], doc, path, value)
                except TypeError:  # mongomock cannot hash a Decimal128 in a unique index
                    continue
                tried += 1
                failures += _failing(client, urls, (name, path, repr(value)))
                db[name].replace_one({"_id": doc["_id"]}, doc)
    assert tried > 150 and failures == []
