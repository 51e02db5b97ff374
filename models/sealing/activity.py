"""Blocks per day by kind, counted when each block is sealed, for the auditor's chart.

Counting at seal time keeps the overview page to one bounded range on an indexed `day`
field instead of a pass over the chain. The counts are a convenience for people, not
evidence: the audit checks the chain itself.
"""
from datetime import timedelta

from models.core import clock
from models.sealing.seam import store_for
from models.storage.db import get_db, unjournaled

INDEXES = {
    "ledger_daily": [([("day", 1)], {})],
}
CHART_DAYS = 30


def count_block(db, block):
    """+1 for the block's (day, kind); the day is the UTC date of its timestamp."""
    day = str(block.get("timestamp", ""))[:10]
    kind = block.get("kind", "")
    unjournaled(db.ledger_daily).update_one(
        {"_id": f"{day}|{kind}"}, {"$inc": {"n": 1}, "$setOnInsert": {"day": day, "kind": kind}},
        upsert=True)


def after_seal(block):
    """The after-seal hook: count the block just appended."""
    count_block(get_db(), block)


def per_day(db, days=CHART_DAYS, today=None):
    """{"days": [...], "series": {kind: [count per day]}} for the last `days` days."""
    today = today or clock.now().date()
    labels = [(today - timedelta(days=offset)).isoformat() for offset in range(days - 1, -1, -1)]
    index = {day: i for i, day in enumerate(labels)}
    series = {}
    for doc in db.ledger_daily.find({"day": {"$gte": labels[0], "$lte": labels[-1]}}):
        # Counts of another shape were written by an insider, not by `seal`: not counted.
        day, kind, count = doc.get("day"), doc.get("kind", "?"), doc.get("n", 0)
        if isinstance(day, str) and day in index and type(count) is int:
            counts = series.setdefault(kind if isinstance(kind, str) else "?", [0] * days)
            counts[index[day]] += count
    return {"days": labels, "series": dict(sorted(series.items()))}


def recount(db):
    """Rebuild the counts from the chain in one streaming pass (after blocks were bulk-loaded
    without `seal`, e.g. demo data); returns the number of blocks counted."""
    counts, total = {}, 0
    for block in store_for(db).iter_blocks(0, None):
        key = (str(block.get("timestamp", ""))[:10], block.get("kind", ""))
        counts[key] = counts.get(key, 0) + 1
        total += 1
    db.ledger_daily.delete_many({})
    if counts:
        db.ledger_daily.insert_many([{"_id": f"{day}|{kind}", "day": day, "kind": kind, "n": n}
                                     for (day, kind), n in counts.items()])
    return total
