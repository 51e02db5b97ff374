"""What the ledger needs of appointments: how the audit rebuilds each `appointment.<action>`
block from the document's history, and how reconcile finishes a transition a crash cut short
(a booking whose holds are incomplete is rolled back; a release finishes releasing)."""
from models.care import holds
from models.care.appointments import BY_ACTION, TABLE, attributes, entry_of, holds_complete
from models.people import users
from models.sealing import registry
from models.sealing.registry import EventKind


# What the audit rebuilds and reconcile finishes -----------------------------------------------

def _rebuild(db, block, data_key, prefetched=None):
    return registry.rebuild_history_entry(
        db, block, prefetched, collection="appointments", id_field="appointment_id",
        subject_key="appointment", action=str(block.get("kind", "")).split(".", 1)[-1],
        entry_of=entry_of, attributes=attributes)


def _sealed(action):
    def sealed(db, data_key, appt):
        """The change's attributes from the document; a booking whose holds are incomplete
        is unfinished (None: rolled back); a release finishes releasing."""
        entry = entry_of(appt, action)
        if entry is None or (action == "requested" and not holds_complete(db, appt)):
            return None
        if BY_ACTION[action].releases:
            holds.release(db, appt["appointment_id"])
        return attributes(appt, entry), ((appt.get("seals") or {}).get(action) or {}).get(
            "salts", {})
    return sealed


def _remove_unfinished(db, appt):
    holds.release(db, appt["appointment_id"])
    db.appointments.delete_one({"_id": appt["_id"], "sealed_height": None})


def _actor(action):
    def actor(db, appt):
        return users.by_human_id(db, (entry_of(appt, action) or {}).get("by") or "")
    return actor


def coverage(db):
    """Each appointment is sealed, and so is each action in its history."""
    for appt in db.appointments.find({}, {"appointment_id": 1, "history.action": 1,
                                          "seals": 1}):
        for entry in appt.get("history") or []:
            action = entry.get("action")
            height = registry.field_of(appt, f"seals.{action}.height")
            yield "appointments", f"{appt['appointment_id']} {action}", height


def _event(row):
    first = row.action == "requested"
    return EventKind(row.kind, "appointments", f"seals.{row.action}.height", _rebuild,
                     creates_document=first, subject=lambda doc: {
                         "appointment": doc["appointment_id"]},
                     salts_at=f"seals.{row.action}.salts",
                     also_at=("sealed_height",) if first else (), actor=_actor(row.action),
                     sealed=_sealed(row.action), rollback=_remove_unfinished if first else None,
                     label=lambda doc: f"{doc['appointment_id']} {row.action}")


EVENTS = tuple(_event(row) for row in TABLE)
COVERAGE = (coverage,)
