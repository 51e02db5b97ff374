"""Lists of sealed documents, newest first: keyset pages on their sealing height.

Every list a person sees that can grow (reads of my records, requests, grants, emergencies,
records, prescriptions) pages this way, as the block explorer does: the chain's size bounds
the first window, and a day range becomes a height range by bisection on block timestamps.
"""
from datetime import datetime, time, timedelta, timezone

from models.sealing.explorer import chain_size, first_height_on_or_after
from models.storage import paging

SEALED_AT = "sealed_height"
# Block timestamps and a document's own time differ by the few milliseconds of the append:
# the height bounds of a day range are widened by this much, and `keep` decides exactly.
SLACK = timedelta(minutes=1)


def newest_first(db, collection, query, *, before=None, since=None, until=None, keep=None,
                 per_page=None, projection=None, path=SEALED_AT):
    """One page of `collection`'s sealed documents matching `query`; `since`/`until` are
    dates (inclusive) that narrow the height range read."""
    size = chain_size(db)
    bottom, top = 0, size
    if since is not None:
        start = datetime.combine(since, time.min, timezone.utc) - SLACK
        bottom = first_height_on_or_after(db, start, size)
    if until is not None:
        end = datetime.combine(until, time.min, timezone.utc) + timedelta(days=1) + SLACK
        top = first_height_on_or_after(db, end, size)
    return paging.newest_first(db[collection], query, path, top, before=before, bottom=bottom,
                               per_page=per_page or paging.PER_PAGE, projection=projection,
                               keep=keep)
