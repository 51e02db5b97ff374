"""The inbox: one document per notification, one counter document per person.

- `notifications`: `_id` is "<height>-<recipient>" (the block that caused it, and who is told),
  so delivering the same sealed change twice inserts nothing the second time. `seq` numbers a
  person's notifications 1, 2, 3…; a page is one bounded range on the (recipient, seq) index,
  newest first, sorted here (the embedded server scans for any sort).
- Reads by one person of one patient's records fold into one open notification
  (`open_group`), as long as it is unread, younger than `READ_GROUP_HOURS` and holds fewer than
  `MAX_GROUP` reads, so a doctor reading twenty records makes one item, not twenty. `heights`
  names every block folded in (indexed), so a replayed read is recognised in a closed group too.
- `notification_counters`: {_id: recipient, seq, unread}. The navbar's count is one `_id`
  lookup, whatever the size of the collection; it is a cache of the unread count that
  "mark all as read" recomputes from the person's own documents.

Writes skip the journal wait of their own (like the day counter): a notification lost to a
crash is a convenience lost, and `flask notify replay` delivers it again.
"""
import logging
from datetime import timedelta

from pymongo.errors import DuplicateKeyError, PyMongoError

from models.core import clock
from models.core.errors import NotFound
from models.storage.db import unjournaled

COLLECTION, COUNTERS = "notifications", "notification_counters"
PER_PAGE = 25
MAX_GROUP = 50
"""Reads folded into one notification at most (then a new one starts)."""
READ_GROUP_HOURS = 24
MAX_LISTED_RECORDS = 10
"""Records a grouped read notification names (the count says how many reads in all)."""
CAS_ATTEMPTS = 100
log = logging.getLogger(__name__)

INDEXES = {
    COLLECTION: [
        ([("recipient", 1), ("seq", 1)], {}),
        ([("heights", 1)], {}),
        ([("open_group", 1)], {"sparse": True}),
    ],
}


def _notifications(db):
    return unjournaled(db[COLLECTION])


def _counters(db):
    return unjournaled(db[COUNTERS])


def notification_id(height, recipient):
    return f"{height}-{recipient}"


# Delivering ------------------------------------------------------------------------------------

def _allocate(db, recipient):
    """The next `seq` of this person's notifications, with their unread count +1 (one
    compare-and-set on the counter: `find_one_and_update` scans on the embedded server)."""
    counters = _counters(db)
    for _ in range(CAS_ATTEMPTS):
        current = counters.find_one({"_id": recipient})
        if current is None:
            try:
                counters.insert_one({"_id": recipient, "seq": 1, "unread": 1})
                return 1
            except DuplicateKeyError:
                continue
        seq = int(current.get("seq") or 0) + 1
        if counters.update_one({"_id": recipient, "seq": current.get("seq")},
                               {"$set": {"seq": seq}, "$inc": {"unread": 1}}).matched_count:
            return seq
    raise RuntimeError(f"the notification counter of {recipient} is too contended")


def _unread_minus(db, recipient, count=1):
    if count > 0:
        _counters(db).update_one({"_id": recipient, "unread": {"$gte": count}},
                                 {"$inc": {"unread": -count}})


def deliver(db, recipient, height, kind, *, actor=None, about=None, detail=None, target=None,
            at=None, group=None, reads=None):
    """A new notification for `recipient`, caused by the block at `height`; None if that block
    already notified this person (a replayed or retried change never doubles)."""
    now = at or clock.now_ms()
    doc = {
        "_id": notification_id(height, recipient), "recipient": recipient, "kind": kind,
        "height": height, "heights": [height], "at": now, "updated_at": now, "read": False,
        "read_at": None, "actor": actor or {}, "about": about or {}, "detail": detail or {},
        "target": target or {},
    }
    if group:
        doc.update(open_group=group, count=1, records=list(reads or [])[:MAX_LISTED_RECORDS])
    if _notifications(db).find_one({"_id": doc["_id"]}, {"_id": 1}) is not None:
        return None  # delivered before: no number is spent, so pages keep their size
    doc["seq"] = _allocate(db, recipient)
    try:
        _notifications(db).insert_one(doc)
    except DuplicateKeyError:  # delivered at the same moment by another process
        _unread_minus(db, recipient)  # the seq stays a gap: a page is a range, gaps are fine
        return None
    return doc


def deliver_read(db, recipient, height, *, reader_id, read, actor, about, target, at=None,
                 window_hours=READ_GROUP_HOURS):
    """Fold a read into `reader_id`'s open read notification for `recipient`, or start one.

    Returns (notification, created): created is False when the read was folded in or had
    already been delivered (then the notification may be None)."""
    now = at or clock.now_ms()
    group = f"read:{recipient}:{reader_id}"
    notes = _notifications(db)
    current = notes.find_one({"open_group": group})
    if current is not None:
        if height in (current.get("heights") or ()):
            return current, False
        fresh = current["at"] >= now - timedelta(hours=window_hours) if current.get("at") else False
        if fresh and int(current.get("count") or 0) < MAX_GROUP:
            listed = [entry for entry in current.get("records") or [] if entry != read]
            listed = ([read] + listed)[:MAX_LISTED_RECORDS]
            if notes.update_one({"_id": current["_id"], "read": False, "open_group": group,
                                 "heights": {"$ne": height}},
                                {"$inc": {"count": 1}, "$push": {"heights": height},
                                 "$set": {"updated_at": now, "records": listed}}).matched_count:
                return current, False
        notes.update_one({"_id": current["_id"]}, {"$unset": {"open_group": ""}})
    if notes.find_one({"heights": height, "recipient": recipient}, {"_id": 1}) is not None:
        return None, False
    created = deliver(db, recipient, height, "read", actor=actor, about=about, target=target,
                      at=now, group=group, reads=[read])
    return created, created is not None


# Reading ---------------------------------------------------------------------------------------

def unread_count(db, recipient):
    """The navbar's number: one `_id` lookup of the person's counter (None if the database
    does not answer: the bell is then left out rather than the page failing with it)."""
    try:
        counter = db[COUNTERS].find_one({"_id": recipient}, {"unread": 1})
    except PyMongoError as exc:
        log.warning("unread notification count unavailable: %s", type(exc).__name__)
        return None
    return max(int((counter or {}).get("unread") or 0), 0)


class Page:
    """One page of a person's notifications, newest first; `older` is the `before` of the
    next page (None on the last)."""

    def __init__(self, items, older, unread):
        self.items, self.older, self.unread = items, older, unread


def page(db, recipient, before=None, per_page=PER_PAGE):
    """The notifications numbered in [before - per_page, before): one bounded range on the
    (recipient, seq) index, never a sort over the collection."""
    counter = db[COUNTERS].find_one({"_id": recipient}) or {}
    top = int(counter.get("seq") or 0) + 1
    before = top if before is None else max(1, min(int(before), top))
    low = max(1, before - per_page)
    items = list(db[COLLECTION].find({"recipient": recipient, "seq": {"$gte": low, "$lt": before}}))
    items.sort(key=lambda item: item["seq"], reverse=True)
    return Page(items, low if low > 1 else None, max(int(counter.get("unread") or 0), 0))


def get(db, recipient, notification_id_):
    """One of the person's own notifications; anyone else's is simply not found."""
    found = db[COLLECTION].find_one({"_id": str(notification_id_ or "")})
    if found is None or found.get("recipient") != recipient:
        raise NotFound("There is no such notification.")
    return found


def mark_read(db, recipient, notification_id_):
    """Mark one of the person's own notifications read (again: nothing changes); the
    notification. The query names the recipient, so no one marks another person's."""
    found = get(db, recipient, notification_id_)
    changed = _notifications(db).update_one(
        {"_id": found["_id"], "recipient": recipient, "read": False},
        {"$set": {"read": True, "read_at": clock.now_ms()}, "$unset": {"open_group": ""}})
    if changed.modified_count:
        _unread_minus(db, recipient)
        found.update(read=True)
    return found


def mark_all_read(db, recipient):
    """Mark every notification of the person read; the number marked. The counter is then
    recomputed from the person's own unread documents (whatever a crash left it at)."""
    changed = _notifications(db).update_many(
        {"recipient": recipient, "read": False},
        {"$set": {"read": True, "read_at": clock.now_ms()}, "$unset": {"open_group": ""}})
    left = len(list(db[COLLECTION].find({"recipient": recipient, "read": False}, {"_id": 1})))
    _counters(db).update_one({"_id": recipient}, {"$set": {"unread": left}})
    return changed.modified_count
