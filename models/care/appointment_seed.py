"""Demo schedules and appointments in bulk (for benchmarks: 200 doctors, a year of schedules,
100,000 appointments), sealed like real ones.

Booking 100,000 appointments one request at a time would take far too long, so each doctor
gets a published schedule (weekday hours, 30-minute slots) and appointments are drawn from
its free slots, half a year back and half a year ahead, in batches: each appointment's history
is built as the transitions would have written it (requested, accepted, arrived, fulfilled;
or cancelled, no-show), every entry's block is built with the ledger's own block functions and
bulk-inserted in height order before the documents that point at them, and the time of every
appointment still holding it is held cell by cell (models.care.holds). A second run creates
only what is missing (a counter in `meta` remembers how many were made).
"""
import random
from datetime import date, timedelta

from ledger.attributes import attribute_leaf_hashes, attribute_root, new_salt
from ledger.block import ZERO_HASH, make_block, make_header

from models.care import appointments, holds, schedules
from models.core import ids
from models.core.clock import now_ms
from models.sealing.seam import store_for
from models.storage import authority

BATCH = 2000
META_ID = "seed-appointments"
HOURS = "\n".join(f"{day} {period}" for day in schedules.WEEKDAYS[:5]
                  for period in ("08:00-12:00", "13:00-17:00"))
SLOT_MINUTES = 30
REASONS = ("Follow-up of blood pressure", "Persistent cough", "Annual check-up", "Back pain",
           "Results of blood tests", "Skin rash", "Headaches", "Medication review")
PAST = (("fulfilled", 80), ("noshow", 5), ("cancelled", 15))
FUTURE = (("booked", 70), ("proposed", 20), ("cancelled", 10))
PATHS = {  # the actions that lead to each status, and which party took each
    "proposed": (),
    "booked": (("accepted", appointments.DOCTOR),),
    "cancelled": (("accepted", appointments.DOCTOR), ("cancelled", appointments.PATIENT)),
    "noshow": (("accepted", appointments.DOCTOR), ("noshow", appointments.DOCTOR)),
    "fulfilled": (("accepted", appointments.DOCTOR), ("arrived", appointments.DESK),
                  ("fulfilled", appointments.DOCTOR)),
}


class _Chain:
    """Blocks built in height order from the current tip (as record_seed does)."""

    def __init__(self, db):
        self.store = store_for(db)
        height = self.store.tip_hint()
        tip = self.store.get_block(height) if height >= 0 else None
        while True:
            following = self.store.get_block((tip["height"] if tip else -1) + 1)
            if following is None:
                break
            tip = following
        self.height = tip["height"] + 1 if tip else 0
        self.prev = tip["hash"] if tip else ZERO_HASH
        self.blocks = []

    def seal(self, kind, subject, actor, attributes):
        salts = {name: new_salt() for name in attributes}
        leaves = attribute_leaf_hashes(attributes, salts)
        block = make_block(make_header(
            height=self.height, prev_hash=self.prev, timestamp=now_ms(), kind=kind,
            subject=subject, actor=actor, attr_root=attribute_root(leaves).hex(),
            attr_count=len(leaves)), leaves)
        block["mac"] = authority.block_mac(block["hash"])
        self.blocks.append(block)
        self.prev, self.height = block["hash"], self.height + 1
        return block["height"], salts

    def flush(self):
        if self.blocks:
            self.store.insert_blocks(self.blocks)
            self.store.set_tip_hint(self.blocks[-1]["height"])
            self.blocks = []


def _schedules(db, chain, doctors):
    """Version 1 of a weekday schedule for each doctor without one; {doctor id: schedule}."""
    found, fresh = {}, []
    for doctor in doctors:
        current = schedules.current(db, doctor["human_id"])
        if current is None:
            current = {"doctor_id": doctor["human_id"], "org_id": doctor.get("org_id"),
                       "version": 1, "slot_minutes": SLOT_MINUTES,
                       "hours": schedules.parse_hours(HOURS), "leave": [],
                       "published_by": doctor["human_id"], "published_at": now_ms()}
            attributes = schedules.schedule_attributes(current)
            height, salts = chain.seal(schedules.PUBLISHED_KIND, {
                "doctor": current["doctor_id"], "version": 1}, doctor["actor"], attributes)
            current.update(sealed_height=height, seal_salts=salts)
            fresh.append(authority.stamp("schedules", current))
        found[doctor["human_id"]] = current
    chain.flush()
    if fresh:
        db.schedules.insert_many(fresh, ordered=False)
    return found


def _entry(action, status_from, status_to, by, party, at, start, end, note=None):
    return {"action": action, "from": status_from, "to": status_to, "by": by["human_id"],
            "party": party, "at": at, "note": note, "start": start, "end": end}


def _appointment(appointment_id, doctor, patient, desk, slot, status, rng):
    start, end = slot
    reason = rng.choice(REASONS)
    created = start - timedelta(days=rng.randint(2, 30))
    appt = {"appointment_id": appointment_id, "status": status, "mode": schedules.DIRECT,
            "patient_id": patient["human_id"], "patient_name": patient.get("name"),
            "doctor_id": doctor["human_id"], "doctor_name": doctor.get("name"),
            "org_id": doctor["org_id"], "start": start, "end": end, "reason": reason,
            "preferred_days": None, "created_at": created, "seals": {},
            "participants": {appointments.PATIENT: appointments.ACCEPTED,
                             appointments.DOCTOR: appointments.NEEDS_ACTION}}
    history = [_entry("requested", None, appointments.PROPOSED, patient, appointments.PATIENT,
                      created, start, end, reason)]
    actors = {appointments.PATIENT: patient, appointments.DOCTOR: doctor, appointments.DESK: desk}
    current, at = appointments.PROPOSED, created
    for action, party in PATHS[status]:
        row = appointments.BY_ACTION[action]
        at = {"accepted": created + timedelta(hours=6), "arrived": start - timedelta(minutes=10),
              "fulfilled": end, "noshow": start + timedelta(minutes=20),
              "cancelled": min(start, created + timedelta(days=1))}[action]
        note = "Cannot come after all" if row.note == "required" else None
        history.append(_entry(action, current, row.target, actors[party], party, at, start, end,
                              note))
        current = row.target
        if action == "accepted":
            appt["participants"][appointments.DOCTOR] = appointments.ACCEPTED
    appt["history"], appt["updated_at"] = history, at
    return appt


def _seal_history(chain, appt, actors):
    for entry in appt["history"]:
        height, salts = chain.seal(f"appointment.{entry['action']}",
                                   {"appointment": appt["appointment_id"]},
                                   actors[entry["by"]]["actor"],
                                   appointments.attributes(appt, entry))
        appt["seals"][entry["action"]] = {"salts": salts, "height": height}
    appt["sealed_height"] = appt["seals"]["requested"]["height"]


def _plan(db, rng, doctors, schedule_of, count, zone, today):
    """(doctor, slot, status) for `count` appointments: distinct slots of each doctor's
    schedule not held yet, half a year back and half a year ahead."""
    first, last = today - timedelta(days=182), today + timedelta(days=182)
    now = now_ms()
    plan = []
    for index, doctor in enumerate(doctors):
        share = count // len(doctors) + (1 if index < count % len(doctors) else 0)
        offered = schedules.offered(schedule_of[doctor["human_id"]], first, last, zone)
        taken = holds.held_cells(db, doctor["human_id"], offered[0][0], offered[-1][1],
                                 limit=0) if offered else set()
        free = [slot for slot in offered
                if not any(cell in taken for cell in holds.cells(*slot))]
        for slot in rng.sample(free, min(share, len(free))):
            weights = PAST if slot[1] <= now else FUTURE
            status, = rng.choices([name for name, _ in weights], [w for _, w in weights])
            plan.append((doctor, slot, status))
    rng.shuffle(plan)
    return plan


def seed(db, *, doctors, patients, desks, count, zone, progress=None, seed_value=12,
         today=None):
    """Up to `count` demo appointments in total with these verified doctors (each with an
    `org_id`), patients and front desks ({org id: desk account}); their schedules too.
    Returns how many appointments were created."""
    if not doctors or not patients or count <= 0:
        return 0
    missing = [doctor["org_id"] for doctor in doctors if doctor.get("org_id") not in desks]
    if missing:
        raise ValueError(f"no front desk for {missing[0]}")
    done = (db.meta.find_one({"_id": META_ID}) or {}).get("n", 0)
    wanted = max(0, count - done)
    chain = _Chain(db)
    schedule_of = _schedules(db, chain, doctors)
    if not wanted:
        return 0
    rng = random.Random(seed_value + done)
    actors = {account["human_id"]: account
              for account in list(doctors) + list(patients) + list(desks.values())}
    plan = _plan(db, rng, doctors, schedule_of, wanted, zone, today or date.today())
    for begin in range(0, len(plan), BATCH):
        chunk = plan[begin:begin + BATCH]
        numbers = ids.next_ids(db, "appointment", len(chunk))
        docs, held = [], []
        for appointment_id, (doctor, slot, status) in zip(numbers, chunk):
            appt = _appointment(appointment_id, doctor, rng.choice(patients),
                                desks[doctor["org_id"]], slot, status, rng)
            _seal_history(chain, appt, actors)
            docs.append(authority.stamp("appointments", appt))
            if status not in appointments.RELEASED:
                held += [{"doctor_id": doctor["human_id"], "cell": cell,
                          "appointment_id": appointment_id, "at": appt["created_at"]}
                         for cell in holds.cells(*slot)]
        chain.flush()
        db.appointments.insert_many(docs, ordered=False)
        if held:
            db.slot_holds.insert_many(held, ordered=False)
        db.meta.update_one({"_id": META_ID}, {"$inc": {"n": len(chunk)}}, upsert=True)
        if progress:
            progress.update(len(chunk))
    return len(plan)
