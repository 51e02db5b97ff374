"""The block explorer: keyset pages, filters, and the block page with its inclusion proof."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from ledger.chain import Ledger
from ledger.notes import Checkpoint

from models.people import users
from models.sealing import checkpoints, registry
from models.sealing import seam as ledger_service
from models.storage.db import get_db
from tests.auditor_support import login

KINDS = ("access.used", "access.expired", "record.read")


@pytest.fixture
def auditor(client, make_account):
    return login(client, make_account(users.AUDITOR))


def seal_many(app, count, start=0):
    """`count` blocks cycling through KINDS, each about its own request id."""
    with app.test_request_context():
        for i in range(start, start + count):
            ledger_service.seal(KINDS[i % len(KINDS)], {"request": f"REQ-{i:06d}"}, None,
                                {"n": i})


def heights(response):
    return [int(h) for h in re.findall(r'data-testid="block-row" data-height="(\d+)"',
                                       response.get_data(as_text=True))]


def next_link(response):
    match = re.search(r'data-testid="older" href="([^"]+)"', response.get_data(as_text=True))
    return match.group(1).replace("&amp;", "&") if match else None


def test_pages_walk_the_chain_newest_first_by_keyset(app, client, auditor):
    seal_many(app, 120)
    first = client.get("/auditor/blocks")
    assert heights(first) == list(range(119, 69, -1))
    second = client.get(next_link(first))
    assert heights(second) == list(range(69, 19, -1))
    third = client.get(next_link(second))
    assert heights(third) == list(range(19, -1, -1))
    assert next_link(third) is None


def test_kind_filter_pages_through_matching_blocks_only(app, client, auditor):
    seal_many(app, 330)
    response = client.get("/auditor/blocks?kind=record.read")
    expected = [h for h in range(329, -1, -1) if KINDS[h % 3] == "record.read"]
    assert heights(response) == expected[:50]
    collected = heights(response)
    while next_link(response):
        response = client.get(next_link(response))
        collected += heights(response)
    assert collected == expected


def test_every_kind_the_registry_declares_can_be_filtered(app, client, auditor):
    kinds = registry.kinds()
    assert "record.prescription_cancelled" in kinds and "checkpoint" in kinds
    with app.test_request_context():
        for i, kind in enumerate(kinds):
            ledger_service.seal(kind, {"request": f"REQ-{i:06d}"}, None, {"n": i})
    page = client.get("/auditor/blocks").get_data(as_text=True)
    for height, kind in enumerate(kinds):
        assert f'<option value="{kind}"' in page, kind
        response = client.get(f"/auditor/blocks?kind={kind}")
        assert response.status_code == 200, kind
        assert heights(response) == [height], kind


def test_subject_filter_finds_every_block_about_that_subject(app, client, auditor):
    seal_many(app, 30)
    with app.test_request_context():
        ledger_service.seal("access.revoked", {"request": "REQ-000007"}, None, {"n": 99})
    response = client.get("/auditor/blocks?subject=req-000007")
    assert heights(response) == [30, 7]


def test_height_filter_starts_the_page_at_that_height(app, client, auditor):
    seal_many(app, 80)
    assert heights(client.get("/auditor/blocks?height=30")) == list(range(30, -1, -1))


def test_date_filter_shows_the_blocks_stamped_that_day(app, client, auditor):
    days = [datetime(2024, 3, d, 12, tzinfo=timezone.utc) for d in (1, 2, 2, 3, 5)]
    moments = iter(days)
    with app.app_context():
        ledger = Ledger(ledger_service.store_for(get_db()), clock=lambda: next(moments))
        for i in range(len(days)):
            ledger.append("access.used", {"request": f"REQ-{i:06d}"}, "act-x", {"n": i},
                          {"n": "AAAAAAAAAAAAAAAAAAAAAA=="})
    assert heights(client.get("/auditor/blocks?day=2024-03-02")) == [2, 1]
    assert heights(client.get("/auditor/blocks?day=2024-03-04")) == []
    assert heights(client.get("/auditor/blocks?day=2024-03-05")) == [4]


@pytest.mark.parametrize("query, field", [("height=-3", "height"), ("day=2024-13-45", "day"),
                                          ("kind=record.bogus", "kind")])
def test_bad_filters_are_refused_with_a_message(app, client, auditor, query, field):
    seal_many(app, 3)
    response = client.get(f"/auditor/blocks?{query}")
    assert response.status_code == 400
    assert b"invalid-feedback" in response.data
    assert heights(response) == []


def test_the_explorer_has_indexes_for_its_filters(app):
    indexes = get_db(app).ledger_blocks.index_information()
    assert {"kind_height", "subject_record_height", "subject_request_height",
            "subject_grant_height", "subject_emergency_height",
            "subject_account_height"} <= set(indexes)


def test_block_page_shows_the_header_hashes_leaves_and_a_verified_proof(app, client, auditor):
    seal_many(app, 11)
    with app.app_context():
        checkpoints.create(get_db())
        block = get_db().ledger_blocks.find_one({"_id": 6})
        previous = get_db().ledger_blocks.find_one({"_id": 5})
    body = client.get("/auditor/blocks/6").get_data(as_text=True)
    assert block["hash"] in body and previous["hash"] in body
    assert f'>{block["prev_hash"]}<' in body
    for leaf in block["attr_leaves"]:
        assert leaf in body
    assert 'data-testid="proof-ok"' in body
    assert "matches the header" in body


def test_block_newer_than_the_checkpoint_says_so(app, client, auditor):
    seal_many(app, 3)
    with app.app_context():
        checkpoints.create(get_db())
    seal_many(app, 2, start=3)
    body = client.get("/auditor/blocks/4").get_data(as_text=True)
    assert "newer than the latest checkpoint" in body
    assert 'data-testid="proof-ok"' not in body


def test_block_page_flags_an_edited_header_and_a_proof_that_fails(app, client, auditor):
    seal_many(app, 8)
    with app.app_context():
        checkpoints.create(get_db())
        get_db().ledger_blocks.update_one({"_id": 3}, {"$set": {"kind": "access.expired"}})
        get_db().ledger_blocks.update_one({"_id": 5}, {"$set": {"hash": "ab" * 32}})
    assert 'data-testid="hash-mismatch"' in client.get("/auditor/blocks/3").get_data(as_text=True)
    body = client.get("/auditor/blocks/5").get_data(as_text=True)
    assert 'data-testid="proof-failed"' in body


def test_a_stored_checkpoint_size_that_disagrees_with_its_signature_fails_the_proof(
        app, client, auditor):
    seal_many(app, 8)
    with app.app_context():
        checkpoints.create(get_db())
        seal_many(app, 4, start=8)
        get_db().ledger_checkpoints.update_one({"size": 8}, {"$set": {"size": 12}})
        get_db().ledger_meta.update_one({"_id": "checkpoints"}, {"$set": {"latest_size": 12}})
    response = client.get("/auditor/blocks/10")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'data-testid="proof-failed"' in body and "signs 8 blocks" in body


def test_inclusion_proofs_are_right_for_every_height_and_size(app):
    """The cached-subtree proofs equal the library's streamed ones (sizes across chunk edges)."""
    from models.sealing import proofs as ledger_proofs
    seal_many(app, 40)
    with app.app_context():
        db = get_db()
        ledger = Ledger(ledger_service.store_for(db))
        old_chunk, ledger_proofs.LEAF_CHUNK = ledger_proofs.LEAF_CHUNK, 4  # exercise the cache
        try:
            for size in (1, 2, 7, 8, 9, 16, 17, 33, 40):
                for height in range(size):
                    assert ledger_proofs.inclusion_proof(db, height, size) == \
                        ledger.inclusion_proof(height, size), (height, size)
        finally:
            ledger_proofs.LEAF_CHUNK = old_chunk
        assert db.ledger_nodes.count_documents({}) > 0


def test_missing_block_is_404(app, client, auditor):
    assert client.get("/auditor/blocks/5").status_code == 404


def test_checkpoint_time_shown_is_the_signed_time(app, client, auditor):
    seal_many(app, 2)
    with app.app_context():
        doc = checkpoints.create(get_db())
    signed = Checkpoint.parse_body(doc["note"][:doc["note"].rfind("\n\n") + 1])
    moment = datetime.fromtimestamp(signed.timestamp_ms / 1000, timezone.utc)
    assert moment.strftime("%Y-%m-%d %H:%M:%S UTC").encode() in client.get("/auditor/").data
    assert abs(moment - datetime.now(timezone.utc)) < timedelta(minutes=1)
