"""Racing requests for the transition race tests: each racer is its own signed-in test client,
all released by one barrier, so the requests reach the models at the same moment."""
import threading
import time

from models.sealing.audit_jobs import run_audit
from models.sealing.registry import PENDING
from models.storage.db import get_db
from tests.auditor_support import login

ROUNDS = 5
STAGGER = (0, 0.02, 0.05, 0.1, 0.2)
"""Seconds by which round n holds back its quick racer: a transition of one update beats one
that writes a document first (an amendment, an approval) when both start together, so the
later rounds give the slow one the lead and both orders are raced."""


def clients(app, *accounts):
    """One signed-in client per account (an account may appear twice: two tabs)."""
    signed_in = []
    for account in accounts:
        client = app.test_client()
        login(client, account)
        signed_in.append(client)
    return signed_in


def race(*moves):
    """Run each `(client, move)` at the same moment; their responses, in the order given."""
    barrier = threading.Barrier(len(moves))
    responses = [None] * len(moves)

    def run(index, client, move):
        barrier.wait()
        responses[index] = move(client)

    threads = [threading.Thread(target=run, args=(index, *pair))
               for index, pair in enumerate(moves)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(response is not None for response in responses), "a racer did not finish"
    return responses


def later(seconds, move):
    """`move`, made `seconds` after the barrier."""
    def delayed(client):
        time.sleep(seconds)
        return move(client)
    return delayed


def one_winner(responses, won=302, lost=409):
    """The index of the one response with the winning status; every other must have lost."""
    statuses = [response.status_code for response in responses]
    assert sorted(statuses) == sorted([won] + [lost] * (len(statuses) - 1)), statuses
    return statuses.index(won)


def blocks(app, *kinds):
    """How many blocks of these kinds the ledger holds."""
    return get_db(app).ledger_blocks.count_documents({"kind": {"$in": list(kinds)}})


def settled(app):
    """Nothing half-written: no change still waits for its block, and the audit is sound."""
    db = get_db(app)
    for name in db.list_collection_names():
        waiting = db[name].find_one({f"{PENDING}.0": {"$exists": True}}, {"_id": 1})
        assert waiting is None, (name, waiting)
    with app.app_context():
        report = run_audit(db, app)
    assert report.ok, report.lines()
