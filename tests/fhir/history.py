"""A patient with one record of every type, and the record lives a record can have: amended,
entered in error, dispensed, cancelled, restricted, with files. Written through the models
(fast, no HTTP) on the shared clinical world (tests/records/world.py), for every FHIR test
that needs real record versions to map, export or import.
"""
import hashlib
from dataclasses import dataclass, field

from models.clinical import pharmacy, records
from models.core import record_types as types
from models.storage.db import get_db
from tests.records.world import DICOM, PDF, PNG, VALID, upload

AMENDED_VITALS = dict(VALID["general"], weight_kg="80.0")
AMENDED_NOTE = dict(VALID["note"], text="Patient reports marbleflux resolved")


@dataclass
class History:
    world: object
    docs: dict = field(default_factory=dict)     # name -> record document (latest state)
    files: dict = field(default_factory=dict)    # sha256 -> bytes of every attached file

    def version(self, name, version=None):
        """(doc, data) of a record's version as stored now (its latest version by default)."""
        doc = self.docs[name]
        with self.world.app.app_context():
            found = records.get_version(get_db(), doc["record_id"], version or doc["version"])
            return found, records.data_of(self.world.key, found)

    def every_version(self):
        """[(name, doc, data)] for every version of every record written."""
        out = []
        for name, doc in self.docs.items():
            for version in range(1, doc["version"] + 1):
                out.append((name, *self.version(name, version)))
        return out


def build(world):
    """One record of each type by its usual author, then: vitals amended (v2), the note
    amended (v2), the diagnosis and the allergy entered in error, one prescription dispensed
    by the pharmacy and another cancelled, a restricted immunization; files on the lab
    report (PDF), the imaging (DICOM) and the patient's document (PNG)."""
    history = History(world)
    uploads = {types.LAB_REPORT: [upload(PDF, "glymmerase.pdf")],
               types.IMAGING: [upload(DICOM, "knee.dcm")],
               types.PATIENT_PROVIDED: [upload(PNG, "rash.png")]}
    raws = {types.IMMUNIZATION: dict(VALID["immunization"], sensitivity="restricted")}
    authors = {types.PATIENT_PROVIDED: world.patient}
    for name in types.TYPES:
        history.docs[name] = world.write(authors.get(name, world.doctor), name,
                                         raw=raws.get(name), uploads=uploads.get(name, ()))
    history.docs["cancelled_prescription"] = world.write(world.doctor, types.PRESCRIPTION)
    for files in uploads.values():
        for item in files:
            history.files[hashlib.sha256(item.data).hexdigest()] = item.data
    world.grant(world.pharmacy["human_id"], scope_kind="types", types=["prescription"])
    with world.app.app_context():
        db, key, limit = get_db(), world.key, world.app.config["MAX_ATTACHMENT_BYTES"]
        for name, raw in ((types.GENERAL, AMENDED_VITALS), (types.NOTE, AMENDED_NOTE)):
            doc = history.docs[name]
            history.docs[name] = records.amend(db, key, author=world.doctor,
                                               record_id=doc["record_id"], version=1, raw=raw,
                                               max_bytes=limit)
        for name in (types.DIAGNOSIS, types.ALLERGY):
            history.docs[name] = records.mark_entered_in_error(
                db, user=world.doctor, record_id=history.docs[name]["record_id"], version=1,
                reason="Wrong patient")
        prescription = history.docs[types.PRESCRIPTION]["record_id"]
        history.docs[types.PRESCRIPTION] = pharmacy.dispense(
            db, pharmacist=world.pharmacist, record_id=prescription, version=1)
        history.docs["cancelled_prescription"] = records.cancel_prescription(
            db, user=world.doctor, record_id=history.docs["cancelled_prescription"]["record_id"],
            version=1, reason="Allergy found")
    return history
