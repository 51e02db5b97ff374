"""The seeded demo (`flask seed-demo`) plus the states a walk of every page needs: a pending
request, grants to a doctor, a pharmacy and a lab, an amended, an erroneous and a dispensed
record, an emergency access, a doctor waiting for licence review, a locked account, an account
that must set its password, a finished audit. Built once per module, through the models."""
import datetime
import time
from zoneinfo import ZoneInfo

from cli.seed import DEMO_PASSWORD
from models.care import admissions
from models.clinical import pharmacy, records
from models.consent import emergency
from models.consent import workflow as consent
from models.core import record_types
from models.people import accounts, organizations, users, verification
from models.research import studies
from models.sealing import audit_jobs
from models.storage.attachments import Upload
from models.storage.db import get_db

PASSWORD = DEMO_PASSWORD
PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n"
       b"%%EOF\n")
VALUES = {
    "general": {"weight_kg": "72.5", "height_cm": "180", "systolic_mmhg": "120",
                "diastolic_mmhg": "80", "heart_rate_bpm": "64", "blood_group_abo": "A",
                "blood_group_rh": "+"},
    "diagnosis": {"code": "I10", "description": "Essential hypertension",
                  "clinical_status": "active", "onset": "2021-05-04"},
    "prescription": {"medication": "Amoxicillin", "strength": "500 mg", "dose": "1 tablet",
                     "route": "oral", "frequency": "three times a day", "duration_days": "7",
                     "quantity": "21", "refills": "0"},
    "lab_report": {"test_name": "Full blood count", "results": "Within normal limits."},
    "imaging": {"modality": "xray", "body_site": "Chest", "findings": "No consolidation."},
    "allergy": {"substance": "Penicillin", "category": "medication", "severity": "severe"},
    "immunization": {"vaccine": "Tetanus", "dose_number": "1", "administered_on": "2020-01-15"},
    "note": {"title": "Follow-up", "text": "Doing well.\nReview in six months."},
    "patient_provided": {"title": "Headaches", "symptoms": "Morning headaches."},
    "discharge_summary": {"admission_id": "ADN-000001", "admitted_on": "2024-03-01",
                          "discharged_on": "2024-03-04", "diagnosis": "Community pneumonia",
                          "course": "Improved on oral antibiotics."},
}


def seed(app):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--patients", "4", "--doctors", "2",
                                                "--records", "12"])
    assert result.exit_code == 0, result.output


def build(app):
    """Seed the demo, add the states, and return the ids a walk needs."""
    seed(app)
    with app.app_context():
        db = get_db()
        key = app.extensions["medledger"]["data_key"]
        limit = app.config["MAX_ATTACHMENT_BYTES"]
        brooks = users.by_username(db, "dr.brooks")      # St. Mary's
        ortega = users.by_username(db, "dr.ortega")      # Riverside
        patient = users.by_username(db, "patient00001")
        other = users.by_username(db, "patient00002")
        pid = patient["human_id"]
        pharmacy_org = organizations.by_name(db, "Central Pharmacy")
        lab_org = organizations.by_name(db, "Northside Diagnostics Lab")

        made = {}
        for type_name in record_types.CLINICIAN_TYPES:
            uploads = [Upload("result.pdf", PDF)] if record_types.TYPES[type_name].files else []
            made[type_name] = records.create(db, key, author=brooks, patient_id=pid,
                                             type_name=type_name, raw=VALUES[type_name],
                                             uploads=uploads, max_bytes=limit)
        made["patient_provided"] = records.create(
            db, key, author=patient, patient_id=pid, type_name="patient_provided",
            raw=VALUES["patient_provided"], max_bytes=limit)
        amended = records.amend(db, key, author=brooks, record_id=made["note"]["record_id"],
                                version=1, raw=dict(VALUES["note"], title="Follow-up (amended)"),
                                max_bytes=limit)
        wrong = records.create(db, key, author=brooks, patient_id=pid, type_name="allergy",
                               raw=VALUES["allergy"], max_bytes=limit)
        records.mark_entered_in_error(db, user=brooks, record_id=wrong["record_id"], version=1,
                                      reason="Wrong patient")

        request = consent.request_access(db, requester=ortega, patient_id=pid, scope_kind="all",
                                         purpose="treatment", duration_days="7", one_time=False,
                                         message="Before your surgery next week.")
        grant = consent.grant_proactively(db, patient=patient, grantee=ortega["human_id"],
                                          scope_kind="all", purpose="treatment",
                                          duration_days="30", one_time=False)
        consent.grant_proactively(db, patient=patient, grantee=pharmacy_org["human_id"],
                                  scope_kind="types", type_names=["prescription"],
                                  purpose="treatment", duration_days="30", one_time=False)
        consent.grant_proactively(db, patient=patient, grantee=lab_org["human_id"],
                                  scope_kind="types", type_names=["lab_report"],
                                  purpose="treatment", duration_days="30", one_time=False)
        pharmacist = users.by_username(db, "pharm.wilson")
        rx = records.create(db, key, author=brooks, patient_id=pid, type_name="prescription",
                            raw=dict(VALUES["prescription"], medication="Ibuprofen"),
                            max_bytes=limit)
        pharmacy.dispense(db, pharmacist=pharmacist, record_id=rx["record_id"], version=1)
        case = emergency.open_emergency(db, doctor=ortega, patient_id=other["human_id"],
                                        password=PASSWORD, reason="Unconscious on arrival, no "
                                        "relatives reachable", minutes=60)
        closed = emergency.open_emergency(          # its window over: an auditor may review it
            db, doctor=brooks, patient_id=other["human_id"], password=PASSWORD,
            reason="Collapsed in the waiting room, unresponsive", minutes=30,
            now=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            - datetime.timedelta(hours=2))

        st_marys = organizations.by_name(db, "St. Mary's General Hospital")
        waiting = users.create_user(db, username="dr.waiting", role=users.DOCTOR,
                                    name="Wendy Waiting", password=PASSWORD, rounds=4,
                                    org_id=st_marys["human_id"], verified=False)
        verification.submit_licence(db, waiting, PDF, "licence.pdf", limit)
        users.create_user(db, username="dr.new", role=users.DOCTOR, name="Nils New",
                          password=PASSWORD, rounds=4, org_id=st_marys["human_id"],
                          verified=False)
        locked = users.create_user(db, username="locked.user", role=users.PATIENT,
                                   name="Lara Locked", password=PASSWORD, rounds=4)
        for _ in range(app.config["LOCKOUT_THRESHOLD"]):
            users.authenticate(db, "locked.user", "wrong password!", threshold=app.config[
                "LOCKOUT_THRESHOLD"], lock_minutes=app.config["LOCKOUT_MINUTES"])
        _, setup_code = accounts.create_with_setup_code(db, rounds=4, username="fresh.user",
                                                        role=users.AUDITOR, name="Fiona Fresh")

        desk = users.create_user(db, username="desk.stmarys", role=users.FRONT_DESK,
                                 name="Dora Desk", password=PASSWORD, rounds=4,
                                 org_id=st_marys["human_id"])
        utc = ZoneInfo("UTC")
        gone = admissions.admit(db, desk, patient_id=other["human_id"], ward="Cardiology",
                                bed="3", reason="Chest pain", attending=brooks["human_id"],
                                zone=utc)
        gone = admissions.discharge(db, desk, gone["admission_id"], destination="home",
                                    zone=utc)
        stay = admissions.admit(db, desk, patient_id=pid, ward="Cardiology", bed="4",
                                reason="Shortness of breath", attending=brooks["human_id"],
                                zone=utc)
        stay = admissions.transfer(db, desk, stay["admission_id"], ward="Surgery", bed="2",
                                   zone=utc)

        khan = users.by_username(db, "research.khan")
        study = studies.for_researcher(db, khan["human_id"])[0]  # approved by the seed
        waiting_study = studies.register(
            db, researcher=khan, title="Allergies and asthma", ethics_ref="DEMO-IRB-2026-002",
            purpose="Whether allergy categories differ between asthma diagnosis groups.",
            fields=["age_band", "sex", "diagnosis_group", "allergy_category"],
            record_types_chosen=["diagnosis", "allergy"], year_from=2015,
            year_to=datetime.date.today().year, diagnosis_prefixes="J45", k=10,
            max_suppression=5)

        job = audit_jobs.start(db, "AUD-test", app=app)
        deadline = time.monotonic() + 60
        while audit_jobs.get_job(db, job["_id"])["state"] not in ("done", "failed"):
            assert time.monotonic() < deadline, "the audit did not finish"
            time.sleep(0.2)

        return {
            "patient": pid, "patient_name": patient["name"],
            "patient_born": patient["profile"]["date_of_birth"],
            "other_patient": other["human_id"], "records": {
                name: doc["record_id"] for name, doc in made.items()},
            "amended": amended["record_id"], "wrong": wrong["record_id"],
            "dispensed": rx["record_id"], "request": request["request_id"],
            "grant": grant["grant_id"], "emergency": closed["emergency_id"],
            "open_emergency": case["emergency_id"],
            "waiting_doctor": waiting["human_id"], "locked": locked["human_id"],
            "stay": stay["admission_id"], "discharged_stay": gone["admission_id"],
            "job": job["_id"], "brooks": brooks["human_id"], "ortega": ortega["human_id"],
            "lab_org": lab_org["human_id"], "pharmacy_org": pharmacy_org["human_id"],
            "setup_code": setup_code, "today": datetime.date.today().isoformat(),
            "study": study["study_id"], "waiting_study": waiting_study["study_id"],
        }

