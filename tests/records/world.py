"""Shared set-up for the clinical tests: organizations, people of every role, valid record
values of every type, and small helpers that write through the models (fast, no HTTP).

Imported by the conftest of each clinical test folder (records, consent, access, emergency,
pharmacy) so they all build the same world.
"""
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from models.clinical import records
from models.consent import workflow as consent
from models.people import organizations, users
from models.storage.attachments import Upload
from models.storage.db import get_db

PDF = b"%PDF-1.4\n% test document\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
DICOM = b"\x00" * 128 + b"DICM" + b"\x02\x00" * 16

# One valid submission per record type, with values unlikely to appear anywhere by chance,
# so a test can search a page or a raw document for them.
VALID = {
    "general": {"weight_kg": "72.5", "height_cm": "180.0", "blood_group_abo": "AB",
                "blood_group_rh": "-", "systolic_mmhg": "131", "diastolic_mmhg": "87",
                "heart_rate_bpm": "67", "temperature_c": "36.8", "spo2_percent": "97"},
    "diagnosis": {"code": "E11.9", "description": "Zebrafinch syndrome type two",
                  "clinical_status": "active", "onset": "2019-03-04"},
    "prescription": {"medication": "Quorvaxolin", "strength": "250 mg", "dose": "1 tablet",
                     "route": "oral", "frequency": "twice a day", "duration_days": "10",
                     "quantity": "20", "refills": "1", "instructions": "Take with waterfall"},
    "lab_report": {"test_name": "Glymmerase panel", "collected_on": "2024-01-02",
                   "results": "Glymmerase 41 U/L", "conclusion": "Within range"},
    "imaging": {"modality": "mri", "body_site": "Left knee", "performed_on": "2024-02-03",
                "findings": "Meniscal fraylet", "conclusion": "Grade II"},
    "allergy": {"substance": "Penicillanthrax", "category": "medication",
                "reaction": "Hivesbloom", "severity": "severe", "onset": "2010-05-06"},
    "immunization": {"vaccine": "Tetravaxium", "dose_number": "2",
                     "administered_on": "2023-09-10", "lot_number": "LOT-77X", "site": "left_arm"},
    "note": {"title": "Follow-up visit", "text": "Patient reports marbleflux improvement"},
    "patient_provided": {"title": "Report from abroad", "symptoms": "Ticklewhorl headaches"},
    "discharge_summary": {"admission_id": "ADN-000001", "admitted_on": "2024-03-01",
                          "discharged_on": "2024-03-05", "diagnosis": "Quillsprain pneumonia",
                          "course": "Improved on Brambleclav", "medication": "Brambleclav 1 g",
                          "follow_up": "Clinic in two weeks"},
}
# A value per type that must never appear in clear in MongoDB or on a page without access.
SECRET = {"general": "72.5", "diagnosis": "Zebrafinch", "prescription": "Quorvaxolin",
          "lab_report": "Glymmerase", "imaging": "fraylet", "allergy": "Penicillanthrax",
          "immunization": "Tetravaxium", "note": "marbleflux", "patient_provided": "Ticklewhorl",
          "discharge_summary": "Quillsprain"}


@dataclass
class World:
    app: object
    hospital_a: dict
    hospital_b: dict
    pharmacy: dict
    lab: dict
    doctor: dict          # hospital A
    colleague: dict       # another doctor of hospital A
    outsider: dict        # a doctor of hospital B
    pharmacist: dict
    lab_tech: dict
    manager: dict         # manager of the pharmacy
    manager_b: dict       # manager of hospital B
    patient: dict
    other_patient: dict
    admin: dict
    auditor: dict

    @property
    def key(self):
        return self.app.extensions["medledger"]["data_key"]

    def write(self, author, type_name="general", patient=None, raw=None, uploads=()):
        with self.app.app_context():
            return records.create(get_db(), self.key, author=author,
                                  patient_id=(patient or self.patient)["human_id"],
                                  type_name=type_name, raw=dict(VALID[type_name] if raw is None else raw),
                                  uploads=list(uploads), max_bytes=self.app.config["MAX_ATTACHMENT_BYTES"])

    def grant(self, grantee_id, scope_kind="all", types=(), records_text="", days=7,
              one_time=False, patient=None, now=None):
        with self.app.app_context():
            return consent.grant_proactively(
                get_db(), patient=patient or self.patient, grantee=grantee_id,
                scope_kind=scope_kind, type_names=list(types), record_text=records_text,
                purpose="treatment", duration_days=days, one_time=one_time, now=now)

    def ask(self, requester, scope_kind="all", types=(), records_text="", days=7, one_time=False,
            patient=None):
        with self.app.app_context():
            return consent.request_access(
                get_db(), requester=requester, patient_id=(patient or self.patient)["human_id"],
                scope_kind=scope_kind, type_names=list(types), record_text=records_text,
                purpose="treatment", duration_days=days, one_time=one_time, message="Please")

    def approve(self, request_id, patient=None, **terms):
        with self.app.app_context():
            return consent.approve(get_db(), patient=patient or self.patient,
                                   request_id=request_id, **terms)

    def count(self, collection, query=None):
        with self.app.app_context():
            return get_db()[collection].count_documents(query or {})

    def find_one(self, collection, query):
        with self.app.app_context():
            return get_db()[collection].find_one(query)


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def world(app, make_account):
    with app.app_context():
        db = get_db()
        hospital_a = organizations.create(db, name="Saint Anne Hospital", kind=organizations.HOSPITAL)
        hospital_b = organizations.create(db, name="Riverside Clinic", kind=organizations.CLINIC)
        pharmacy = organizations.create(db, name="Corner Pharmacy", kind=organizations.PHARMACY)
        lab = organizations.create(db, name="Central Lab", kind=organizations.LAB)
    return World(
        app=app, hospital_a=hospital_a, hospital_b=hospital_b, pharmacy=pharmacy, lab=lab,
        doctor=make_account(users.DOCTOR, "doctor", name="Dana Doctor", org_id=hospital_a["human_id"]),
        colleague=make_account(users.DOCTOR, "colleague", name="Carl Colleague",
                               org_id=hospital_a["human_id"]),
        outsider=make_account(users.DOCTOR, "outsider", name="Olga Outsider",
                              org_id=hospital_b["human_id"]),
        pharmacist=make_account(users.PHARMACIST, "pharmacist", name="Paul Pharmacist",
                                org_id=pharmacy["human_id"]),
        lab_tech=make_account(users.LAB_TECH, "labtech", name="Lena Lab", org_id=lab["human_id"]),
        manager=make_account(users.ORG_MANAGER, "manager", name="Mia Manager",
                             org_id=pharmacy["human_id"]),
        manager_b=make_account(users.ORG_MANAGER, "managerb", name="Max Manager",
                               org_id=hospital_b["human_id"]),
        patient=make_account(users.PATIENT, "patient", name="Pat Patient"),
        other_patient=make_account(users.PATIENT, "otherpatient", name="Otto Other"),
        admin=make_account(users.ADMIN, "admin", name="Ada Admin"),
        auditor=make_account(users.AUDITOR, "auditor", name="Aud Auditor"),
    )


def upload(data=PDF, name="scan.pdf"):
    return Upload(name=name, data=data)
