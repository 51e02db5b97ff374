"""The inbox on its own: keyset pages as bounded ranges, marking read only one's own, and a
counter that the navbar reads in one lookup."""
import pytest

from models.core.errors import NotFound
from models.notify import inbox
from models.storage.db import get_db

ME, YOU = "PAT-000001", "PAT-000002"


def fill(db, recipient, count, first_height=0):
    return [inbox.deliver(db, recipient, first_height + n, "request",
                          about={"request": f"REQ-{n:06d}"}) for n in range(count)]


@pytest.fixture
def db(app):
    return get_db(app)


class Spy:
    """Records the filters and options of every `find` on the notifications collection."""

    def __init__(self, collection):
        self.collection, self.calls = collection, []

    def find(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.collection.find(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.collection, name)


def test_pages_are_bounded_ranges_newest_first(db, monkeypatch):
    fill(db, ME, 60)
    fill(db, YOU, 5, first_height=100)
    spy = Spy(db[inbox.COLLECTION])
    real_getitem = type(db).__getitem__
    monkeypatch.setattr(type(db), "__getitem__",
                        lambda self, name: spy if name == inbox.COLLECTION and self is db
                        else real_getitem(self, name))
    first = inbox.page(db, ME)
    assert [note["seq"] for note in first.items] == list(range(60, 35, -1))
    assert first.older == 36 and first.unread == 60
    [(args, kwargs)] = spy.calls
    assert args[0] == {"recipient": ME, "seq": {"$gte": 36, "$lt": 61}}
    assert "sort" not in kwargs and len(args) == 1  # no sort, no skip: one indexed range
    second = inbox.page(db, ME, before=first.older)
    assert [note["seq"] for note in second.items] == list(range(35, 10, -1))
    last = inbox.page(db, ME, before=second.older)
    assert [note["seq"] for note in last.items] == list(range(10, 0, -1)) and last.older is None
    assert {note["recipient"] for note in first.items + second.items + last.items} == {ME}


def test_a_page_beyond_the_end_or_before_the_start_is_clamped(db):
    fill(db, ME, 3)
    assert [note["seq"] for note in inbox.page(db, ME, before=999).items] == [3, 2, 1]
    assert inbox.page(db, ME, before=0).items == []
    assert inbox.page(db, "PAT-999999").items == []


def test_marking_read_only_touches_ones_own(db):
    mine = fill(db, ME, 2)
    yours = fill(db, YOU, 1, first_height=10)
    with pytest.raises(NotFound):
        inbox.mark_read(db, ME, yours[0]["_id"])
    assert db[inbox.COLLECTION].find_one({"_id": yours[0]["_id"]})["read"] is False
    assert inbox.unread_count(db, YOU) == 1
    inbox.mark_read(db, ME, mine[0]["_id"])
    inbox.mark_read(db, ME, mine[0]["_id"])  # again: nothing more changes
    assert inbox.unread_count(db, ME) == 1
    assert inbox.mark_all_read(db, ME) == 1
    assert inbox.unread_count(db, ME) == 0 and inbox.unread_count(db, YOU) == 1
    assert db[inbox.COLLECTION].find_one({"_id": yours[0]["_id"]})["read"] is False


def test_mark_all_read_repairs_a_drifted_counter(db):
    fill(db, ME, 3)
    db[inbox.COUNTERS].update_one({"_id": ME}, {"$set": {"unread": 40}})
    assert inbox.unread_count(db, ME) == 40  # the navbar trusts the counter…
    inbox.mark_all_read(db, ME)
    assert inbox.unread_count(db, ME) == 0  # …which marking all read recomputes


def test_the_unread_count_is_one_lookup_of_the_counter(db, monkeypatch):
    fill(db, ME, 4)
    calls = []
    counters = db[inbox.COUNTERS]
    real_getitem = type(db).__getitem__

    class Counted:
        def find_one(self, *args, **kwargs):
            calls.append(("counters.find_one", args))
            return counters.find_one(*args, **kwargs)

    class Refused:
        def __getattr__(self, name):
            raise AssertionError(f"the count must not touch the notifications ({name})")

    monkeypatch.setattr(type(db), "__getitem__", lambda self, name: (
        Counted() if name == inbox.COUNTERS else Refused() if name == inbox.COLLECTION
        else real_getitem(self, name)))
    assert inbox.unread_count(db, ME) == 4
    assert [(name, args[0]) for name, args in calls] == [("counters.find_one", {"_id": ME})]


def test_a_notification_delivered_twice_is_stored_once(db):
    assert inbox.deliver(db, ME, 7, "request") is not None
    assert inbox.deliver(db, ME, 7, "request") is None
    assert inbox.deliver(db, YOU, 7, "request") is not None  # same block, another person
    assert inbox.unread_count(db, ME) == 1
    assert db[inbox.COUNTERS].find_one({"_id": ME})["seq"] == 1  # no number spent on it
