"""Keyset pages, newest first, over an indexed integer key (a sealing height, say).

The embedded server scans a whole collection to sort or to count, so a page is never a
sort-and-limit: it reads widening windows of the key, [hi - width, hi), going down until it
holds one more document than the page shows (or reaches the bottom), and sorts only that.
A page's cursor is the key of its last document: the next page is everything below it.
"""
from dataclasses import dataclass

PER_PAGE = 25
FIRST_WIDTH = 400     # keys per first window; each next window is four times wider
GROWTH = 4


@dataclass(frozen=True)
class Page:
    items: list
    before: int | None    # the next (older) page's cursor; None on the last page

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def newest_first(collection, query, key, top, *, before=None, bottom=0, per_page=PER_PAGE,
                 projection=None, keep=None, first_width=FIRST_WIDTH):
    """Documents matching `query` with `key` in [bottom, min(top, before)), highest first.

    `keep` filters in Python what the query cannot say; the windows widen until the page is
    full, so a rare match costs a few more window reads, never a scan of the collection.
    Keys must be unique integers (one sealing height per document).
    """
    hi = top if before is None else min(top, before)
    found, width = [], max(1, first_width)
    while hi > bottom and len(found) <= per_page:
        lo = max(bottom, hi - width)
        window = dict(query)
        window[key] = {"$gte": lo, "$lt": hi}
        found.extend(doc for doc in collection.find(window, projection)
                     if keep is None or keep(doc))
        hi, width = lo, width * GROWTH
    found.sort(key=lambda doc: doc[key], reverse=True)
    if len(found) > per_page:
        return Page(found[:per_page], found[per_page - 1][key])
    return Page(found, None)
