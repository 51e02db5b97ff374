"""Keyset pages: every matching document exactly once, newest first, in bounded reads."""
import mongomock
import pytest

from models.storage import paging


@pytest.fixture
def docs():
    """300 documents at heights 0..2999 step 10, alternating between two owners."""
    collection = mongomock.MongoClient().db.things
    collection.insert_many([{"height": h, "owner": "A" if (h // 10) % 2 else "B"}
                            for h in range(0, 3000, 10)])
    return collection


def walk(collection, query, top, before=None, **options):
    seen, pages = [], 0
    while True:
        page = paging.newest_first(collection, query, "height", top, before=before, **options)
        seen.extend(doc["height"] for doc in page)
        pages += 1
        if page.before is None:
            return seen, pages
        before = page.before


def test_pages_list_every_match_once_newest_first(docs):
    seen, pages = walk(docs, {"owner": "A"}, 3000, per_page=7)
    expected = sorted((h for h in range(0, 3000, 10) if (h // 10) % 2), reverse=True)
    assert seen == expected
    assert pages == -(-len(expected) // 7)


def test_a_full_last_page_has_no_next_cursor(docs):
    page = paging.newest_first(docs, {}, "height", 100, per_page=10)
    assert [doc["height"] for doc in page] == list(range(90, -1, -10))
    assert page.before is None


def test_keep_filters_and_windows_widen_to_a_rare_match(docs):
    reads = []
    real_find = docs.find

    def counting_find(*args, **kwargs):
        reads.append(args[0]["height"])
        return real_find(*args, **kwargs)

    docs.find = counting_find
    page = paging.newest_first(docs, {}, "height", 3000, keep=lambda doc: doc["height"] == 40,
                               first_width=100)
    assert [doc["height"] for doc in page] == [40] and page.before is None
    widths = [window["$lt"] - window["$gte"] for window in reads]
    assert widths[:3] == [100, 400, 1600]   # widening, so a few reads reach the bottom
    assert len(reads) <= 5


def test_bottom_and_before_bound_the_range(docs):
    seen, _ = walk(docs, {}, 3000, before=500, bottom=200, per_page=4)
    assert seen == list(range(490, 199, -10))


def test_a_dense_page_is_one_window_read(docs):
    reads = []
    real_find = docs.find
    docs.find = lambda *a, **k: reads.append(a) or real_find(*a, **k)
    page = paging.newest_first(docs, {}, "height", 3000, per_page=10, first_width=400)
    assert len(page) == 10 and page.before == 2900
    assert len(reads) == 1
