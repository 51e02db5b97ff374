"""Slot holds: no doctor is ever double-booked, atomically.

The time an appointment covers is held in `slot_holds`, one document per (doctor, five-minute
cell) under a unique index, inserted all together or not at all: of two bookings that overlap
by as much as one cell, whatever their lengths, exactly one gets every cell; the other's
inserts fail, what it did insert is removed, and it answers "That time was just taken" (409).
Holds are released when an appointment stops needing its time.

A hold whose appointment no longer covers it (a crash between two writes) is removed by the
next booking that meets it, once it is older than reconcile's grace period (a younger one may
belong to a booking still running).
"""
from datetime import timedelta

from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError

from models.core.clock import as_utc, now_ms
from models.core.errors import Conflict
from models.sealing import reconcile

CELL_MINUTES = 5
HOLD_LIMIT = 5000
TAKEN = "That time was just taken."

INDEXES = {
    "slot_holds": [([("doctor_id", 1), ("cell", 1)], {"unique": True}),
                   ([("appointment_id", 1)], {})],
}


def cells(start, end):
    """The five-minute cells (UTC datetimes) a span covers."""
    found, cell = [], as_utc(start)
    while cell < as_utc(end):
        found.append(cell)
        cell += timedelta(minutes=CELL_MINUTES)
    return found


def held_cells(db, doctor_id, start, end, limit=HOLD_LIMIT):
    """The doctor's held cells in [start, end): one bounded range on the (doctor, cell) index
    (`limit` 0: all of them, for bulk loads)."""
    return {as_utc(hold["cell"]) for hold in db.slot_holds.find(
        {"doctor_id": doctor_id, "cell": {"$gte": start, "$lt": end}}, {"cell": 1},
        limit=limit)}


def _clear_stale(db, doctor_id, wanted, now, still_held):
    """Remove holds on `wanted` cells that `still_held(appointment_id, cell)` disowns, if older
    than reconcile's grace; whether any was removed."""
    removed = False
    before = now - timedelta(seconds=reconcile.GRACE_SECONDS)
    for found in db.slot_holds.find({"doctor_id": doctor_id, "cell": {"$in": wanted}},
                                    limit=len(wanted)):
        at = found.get("at")
        if at is not None and as_utc(at) < before \
                and not still_held(found.get("appointment_id"), as_utc(found["cell"])):
            removed |= db.slot_holds.delete_one({"_id": found["_id"]}).deleted_count == 1
    return removed


def hold(db, doctor_id, appointment_id, start, end, still_held, now=None):
    """Hold every cell of [start, end) for the appointment, all or nothing; Conflict if any is
    held already (after clearing stale holds once)."""
    now = now or now_ms()
    wanted = cells(start, end)
    for attempt in range(2):
        docs = [{"_id": ObjectId(), "doctor_id": doctor_id, "cell": cell,
                 "appointment_id": appointment_id, "at": now} for cell in wanted]
        try:
            db.slot_holds.insert_many(docs, ordered=True)
            return docs
        except (DuplicateKeyError, BulkWriteError):
            db.slot_holds.delete_many({"_id": {"$in": [doc["_id"] for doc in docs]}})
            if attempt or not _clear_stale(db, doctor_id, wanted, now, still_held):
                break
    raise Conflict(f"{TAKEN} Choose another.", {"start": TAKEN})


def release(db, appointment_id):
    db.slot_holds.delete_many({"appointment_id": appointment_id})


def complete(db, appointment_id, start, end):
    """Whether every cell of the span is held for the appointment (a booking a crash cut
    between its document and its holds is not)."""
    return db.slot_holds.count_documents({"appointment_id": appointment_id}) == \
        len(cells(start, end))
