"""The registry of the url_map matrices: for every route with a path argument, who owns what it
points at, and how to build a fresh one. `build(world, role)` returns a `Case`: the owner of
that role, the URL's arguments, and the form a POST sends (valid, so only the ownership check
stands between a stranger and the change).

`owners`: roles that can own the object (each gets 2xx/3xx in the role matrix).
`never`: declared roles that by design reach nothing here, with the reason.
`shared`: roles (or COLLEAGUE, another doctor of the inside doctor's hospital) for which the
object is everyone's by design (any doctor opens any patient's chart, seeing only what the
access decision allows), with the reason: their strangers are tried by GET and must see no
clinical value; they do not POST.
"""
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from models.care import admissions, appointments, schedules
from models.clinical import records
from models.consent import emergency
from models.consent import workflow as consent
from models.notify import inbox
from models.people import account_events, api_tokens, organizations, users, verification
from models.research import exports, studies
from models.research import consent as research_consent
from models.sealing import audit_jobs, checkpoints, trust
from models.storage.attachments import Upload
from models.storage.db import get_db
from tests.auth.two_factor_support import enrolled_now
from tests.conftest import PASSWORD
from tests.access.matrix_world import COLLEAGUE
from tests.records.world import PDF, VALID
from tests.support_people import PDF as LICENCE  # not a clinical file
from tests.research.world import STUDY

UTC = timezone.utc
ADMIN, AUDITOR, DOCTOR, DESK = users.ADMIN, users.AUDITOR, users.DOCTOR, users.FRONT_DESK
MANAGER, PATIENT, PHARMACIST = users.ORG_MANAGER, users.PATIENT, users.PHARMACIST
LAB, RESEARCHER = users.LAB_TECH, users.RESEARCHER


@dataclass
class Case:
    owner: dict
    kwargs: dict
    data: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FileUpload:
    """A file a form sends (opened afresh for each request)."""
    data: bytes
    name: str


@dataclass
class Entry:
    build: Callable
    owners: tuple
    shared: dict = field(default_factory=dict)
    never: dict = field(default_factory=dict)


ALL_DAY = "\n".join(f"{day} 00:00-24:00" for day in schedules.WEEKDAYS)
NOTE = {"title": "Hijacked", "text": "Hijacked text"}
"""What a form sends: no clinical value of the world, so a page that echoes it leaks nothing."""
ADMINS = {ADMIN: "every administrator administers every account and organization"}
AUDITORS = {AUDITOR: "every auditor audits the whole ledger"}
CHART = {who: "any doctor opens a patient's chart to treat or ask; it shows only what the "
              "access decision allows (hidden rows otherwise)" for who in (DOCTOR, COLLEAGUE)}
API_NEVER = {role: "the API serves clinical data only to the patient and to readers the access "
                   "decision allows (tests/fhir_api/test_fhir_matrix.py)"
             for role in (ADMIN, AUDITOR, DESK, RESEARCHER, LAB)}


# Builders ------------------------------------------------------------------------------------

def _patient_id(w, role):
    """The inside patient, with a note by the inside doctor (so the chart has a readable row)."""
    _record(w, "note")
    return Case(w.inside[role], {"patient_id": w.inside[PATIENT]["human_id"]})


def _record(w, type_name="note", author=None, patient=None, uploads=()):
    return w.call(lambda db: records.create(
        db, w.key, author=author or w.inside[DOCTOR],
        patient_id=(patient or w.inside[PATIENT])["human_id"], type_name=type_name,
        raw=dict(VALID[type_name]), uploads=list(uploads),
        max_bytes=w.app.config["MAX_ATTACHMENT_BYTES"]))


def _grant(w, grantee, types=(), patient=None):
    return w.call(lambda db: consent.grant_proactively(
        db, patient=patient or w.inside[PATIENT], grantee=grantee["human_id"],
        scope_kind="types" if types else "all", type_names=list(types), record_text="",
        purpose="treatment", duration_days=7, one_time=False))


def _record_case(w, owner, type_name, author=None, uploads=False, data=None):
    doc = _record(w, type_name, author=author, uploads=[Upload("scan.pdf", PDF)] if uploads
                  else [])
    kwargs = {"record_id": doc["record_id"], "version": 1, **({"index": 0} if uploads else {})}
    return Case(owner, kwargs, data=data or {})


def _doctor_record(type_name, uploads=False, data=None):
    return lambda w, role: _record_case(w, w.inside[DOCTOR], type_name, uploads=uploads,
                                        data=data)


def _patient_record(type_name="note", uploads=False, data=None):
    def build(w, role):
        author = w.inside[PATIENT] if type_name == "patient_provided" else None
        return _record_case(w, w.inside[PATIENT], type_name, author, uploads, data)
    return build


def _staff_record(uploads=False):
    """A prescription (pharmacist) or a lab report (lab tech), shared with their organization
    by type."""
    def build(w, role):
        kind, type_name = ("pharmacy", "prescription") if role == PHARMACIST else \
            ("lab", "lab_report")
        _grant(w, w.orgs[kind], types=[type_name])
        return _record_case(w, w.inside[role], type_name, uploads=uploads)
    return build


def _request(w, patient, requester=None):
    """A pending request (one per requester and patient may be pending: a fresh patient)."""
    return w.call(lambda db: consent.request_access(
        db, requester=requester or w.inside[DOCTOR], patient_id=patient["human_id"],
        scope_kind="all", purpose="treatment", duration_days=7, one_time=False, message="Please"))


def _patient_request(data=None):
    def build(w, role):
        patient = w.account(PATIENT)
        return Case(patient, {"request_id": _request(w, patient)["request_id"]},
                    data=data or {})
    return build


def _cancel_request(w, role):
    requester = w.inside[DOCTOR] if role == DOCTOR else w.inside[MANAGER]
    request = _request(w, w.account(PATIENT), requester)
    return Case(requester, {"request_id": request["request_id"]})


def _fresh_account(state=None):
    def build(w, role):
        account = w.account(PATIENT)
        if state == "disabled":
            w.call(account_events.disable_account, account["human_id"], w.inside[ADMIN])
        if state == "locked":
            for _ in range(w.app.config["LOCKOUT_THRESHOLD"]):
                w.call(users.authenticate, account["username"], "wrong password!", rounds=4)
        if state == "two-factor":
            with w.app.app_context():
                enrolled_now(get_db(), w.key, account)
        return Case(w.inside[ADMIN], {"human_id": account["human_id"]},
                    data={"reason": "Lost the phone with the authenticator"})
    return build


def _fresh_org(state=None):
    def build(w, role):
        n = next(w.counter)
        org = w.call(organizations.create, name=f"Matrix clinic {n}",
                     kind=organizations.CLINIC)
        if state == "disabled":
            w.call(account_events.disable_organization, org["human_id"], w.inside[ADMIN])
        return Case(w.inside[ADMIN], {"org_id": org["human_id"]})
    return build


def _pending_doctor(w, role):
    doctor = w.account(DOCTOR, verified=False)
    w.call(verification.submit_licence, doctor, LICENCE, "licence.pdf",
           w.app.config["MAX_ATTACHMENT_BYTES"])
    return Case(w.inside[ADMIN], {"doctor_id": doctor["human_id"]},
                data={"reason": "The licence number does not match the register"})


def _staff(state=None):
    def build(w, role):
        member = w.account(DESK)
        if state == "disabled":
            w.call(account_events.disable_account, member["human_id"], w.inside[MANAGER])
        return Case(w.inside[MANAGER], {"human_id": member["human_id"]})
    return build


def _admission(w, role, data=None, discharged=False):
    patient = w.account(PATIENT)
    n = next(w.counter)
    doc = w.call(lambda db: admissions.admit(
        db, w.inside[DESK], patient_id=patient["human_id"], ward="North", bed=str(n),
        reason="Chest pain since morning", attending=w.inside[DOCTOR]["human_id"],
        zone=UTC))
    if discharged:
        w.call(lambda db: admissions.discharge(db, w.inside[DESK], doc["admission_id"],
                                               destination="home", zone=UTC))
    owner = patient if role == PATIENT else w.inside[role]
    return Case(owner, {"admission_id": doc["admission_id"]}, data=data or {})


def _admission_with(data, discharged=False):
    return lambda w, role: _admission(w, role, data, discharged)


def _slot(first_day, n):
    """The n-th free quarter hour from `first_day` days ahead (6:00-16:00 UTC each day)."""
    day = datetime.now(UTC).date() + timedelta(days=first_day + n // 40)
    return datetime(day.year, day.month, day.day, 6 + (n % 40) // 4, (n % 4) * 15, tzinfo=UTC)


def _appointment(w, role, action=None):
    doctor = w.inside[DOCTOR]
    if not w.cache.get("schedule"):
        w.cache["schedule"] = w.call(schedules.publish, actor=doctor,
                                     doctor_id=doctor["human_id"], slot_minutes=15, hours=ALL_DAY)
    start = _slot(3, next(w.counter))
    patient = w.account(PATIENT)
    doc = w.call(lambda db: appointments.book(db, patient=patient,
                                              doctor_id=doctor["human_id"], start=start,
                                              reason="Recurring headaches", zone=UTC))
    owner = patient if role == PATIENT else w.inside[role]
    kwargs = {"appointment_id": doc["appointment_id"]}
    if action:
        kwargs["action"] = action
    return Case(owner, kwargs, data={f"{action}-note": "A clash"})


def _requested_appointment(w, role):
    """Request mode (an organization of its own, so the others keep direct booking): a
    patient's request, waiting for the doctor or the desk to propose a time."""
    if "request_mode" not in w.cache:
        org = w.call(organizations.create, name="Inside requests hospital",
                     kind=organizations.HOSPITAL)
        people = {role: w.account(role, org=org) for role in (DOCTOR, DESK, MANAGER)}
        w.call(schedules.set_booking_mode, manager=people[MANAGER], mode=schedules.REQUEST)
        w.call(schedules.publish, actor=people[DOCTOR], doctor_id=people[DOCTOR]["human_id"],
               slot_minutes=15, hours=ALL_DAY)
        w.cache["request_mode"] = people
    people = w.cache["request_mode"]
    doc = w.call(appointments.request, patient=w.account(PATIENT),
                 doctor_id=people[DOCTOR]["human_id"], reason="Knee pain when running",
                 preferred_days="Tuesday mornings")
    start = _slot(10, next(w.counter))
    return Case(people[role], {"appointment_id": doc["appointment_id"]},
                data={"start": start.strftime("%Y-%m-%dT%H:%MZ")})


def _notification(w, role):
    owner = w.inside["pharmacy_manager" if role == MANAGER else role]
    note = w.call(inbox.deliver, owner["human_id"], 10 ** 6 + next(w.counter), "security",
                  target={"kind": "security"})
    return Case(owner, {"notification_id": note["_id"]})


def _token(w, role):
    token, _ = w.call(api_tokens.create, w.inside[role], f"script {next(w.counter)}")
    return Case(w.inside[role], {"token_id": token["token_id"]})


def _study(approved=True):
    def build(w, role):
        study = w.call(studies.register, researcher=w.inside[RESEARCHER], **STUDY)
        if approved:
            study = w.call(studies.approve, actor=w.inside[ADMIN], study_id=study["study_id"],
                           reason="Ethics approval checked.")
        return Case(w.inside[role], {"study_id": study["study_id"]},
                    data={"approve": "Approve", "reason": "Ethics approval checked."})
    return build


def _joined_study(w, role):
    case = _study()(w, role)
    w.call(research_consent.join_study, patient=w.inside[PATIENT],
           study_id=case.kwargs["study_id"])
    return case


def _cohort_study(w, role):
    """An approved study with five consenting patients in its cohort (built once)."""
    cohort = w.cache.setdefault("cohort", [])
    while len(cohort) < 5:
        patient = w.account(PATIENT)
        _record(w, "diagnosis", patient=patient)
        w.call(research_consent.set_choice, patient=patient, choice=research_consent.ALL)
        cohort.append(patient)
    return _study()(w, role)


def _export(w, role):
    study = _cohort_study(w, RESEARCHER).kwargs["study_id"]
    made = w.call(lambda db: exports.create(db, w.key, researcher=w.inside[RESEARCHER],
                                            study_id=study))
    return Case(w.inside[RESEARCHER], {"export_id": made["export_id"]}, data={"confirm": "y"})


def _emergency(w, role):
    patient = w.account(PATIENT)
    case = w.call(lambda db: emergency.open_emergency(
        db, doctor=w.inside[DOCTOR], patient_id=patient["human_id"], password=PASSWORD,
        reason="Collapsed in the waiting room, unresponsive", minutes=30,
        now=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)))
    return Case(w.inside[AUDITOR], {"emergency_id": case["emergency_id"]},
                data={"verdict": "justified", "note": "Seen"})


def _audit_job(w, role):
    """One finished audit (its runner thread idle again), read by every cell."""
    if "job" not in w.cache:
        job = w.call(audit_jobs.start, "matrix", app=w.app)
        w.app.extensions["medledger"]["audit_runner"].jobs.join()
        w.cache["job"] = job["_id"]
    return Case(w.inside[AUDITOR], {"job": w.cache["job"]})


def _checkpoint(w, role):
    note = w.call(checkpoints.create, app=w.app)
    size, key_id = note["_id"].split(":", 1) if ":" in str(note["_id"]) else (
        note["size"], note["key_id"])
    return Case(w.inside[AUDITOR], {"size": int(size), "key_id": key_id})


def _public_key(w, role):
    with w.app.app_context():
        key_id = trust.public_keys()[0]["key_id"]
    return Case(w.inside[AUDITOR], {"key_id": key_id})


def _block(w, role):
    return Case(w.inside[AUDITOR], {"height": 0})


def _doctor_entry(w, role):
    return Case(w.inside[role], {"human_id": w.inside[DOCTOR]["human_id"]},
                data={"department": "Cardiology ward B", "phone": "+33 1 23 45 67 89"})


def _fhir_reader(w, role):
    """A prescription: the patient, its author, the granted pharmacy's pharmacist and manager."""
    _grant(w, w.orgs["pharmacy"], types=["prescription"])
    doc = _record(w, "prescription")
    owner = w.inside["pharmacy_manager" if role == MANAGER else role]
    return Case(owner, {"resource_type": "MedicationRequest", "resource_id": doc["record_id"],
                        "patient_id": w.inside[PATIENT]["human_id"]})


def _fhir(*names, query=False):
    def build(w, role):
        case = _fhir_reader(w, role)
        case.kwargs = {name: case.kwargs[name] for name in names}
        if query:
            case.query = {"patient": w.inside[PATIENT]["human_id"]}
        return case
    return build


def _patient_with(data):
    """A fresh patient (a doctor may have one pending request per patient)."""
    def build(w, role):
        return Case(w.inside[DOCTOR], {"patient_id": w.account(PATIENT)["human_id"]},
                    data=dict(data))
    return build


def _lab_patient(w, role):
    _grant(w, w.orgs["lab"], types=["lab_report"])
    return Case(w.inside[LAB], {"patient_id": w.inside[PATIENT]["human_id"]},
                data=dict(VALID["lab_report"], test_name="Hijacked", results="Hijacked"))


def _record_new(w, role):
    case = _patient_id(w, DOCTOR)
    case.kwargs["type_name"] = "note"
    case.data = dict(NOTE)
    return case


def _book(w, role):
    case = _appointment(w, DOCTOR)  # publishes the schedule; its slot is taken, not ours
    n = next(w.counter)
    start = _slot(20, n)
    return Case(w.account(PATIENT), {"doctor_id": case.owner["human_id"]},
                data={"start": start.strftime("%Y-%m-%dT%H:%MZ"), "reason": "Headaches"})


def _schedule(w, role):
    return Case(w.inside[role], {"doctor_id": w.inside[DOCTOR]["human_id"]},
                data={"slot_minutes": "15", "hours": ALL_DAY})


def _admit_patient(w, role):
    return Case(w.inside[DESK], {"patient_id": w.account(PATIENT)["human_id"]})


# The registry --------------------------------------------------------------------------------

STUDY_PATIENTS = {PATIENT: "any patient may join, leave or count an approved study"}
REGISTRY = {
    "admin.account_disable": Entry(_fresh_account(), (ADMIN,), ADMINS),
    "admin.account_enable": Entry(_fresh_account("disabled"), (ADMIN,), ADMINS),
    "admin.account_setup_code": Entry(_fresh_account(), (ADMIN,), ADMINS),
    "admin.account_two_factor_reset": Entry(_fresh_account("two-factor"), (ADMIN,), ADMINS),
    "admin.account_unlock": Entry(_fresh_account("locked"), (ADMIN,), ADMINS),
    "admin.organization_disable": Entry(_fresh_org(), (ADMIN,), ADMINS),
    "admin.organization_enable": Entry(_fresh_org("disabled"), (ADMIN,), ADMINS),
    "admin.verification_review": Entry(_pending_doctor, (ADMIN,), ADMINS),
    "admin.verification_approve": Entry(_pending_doctor, (ADMIN,), ADMINS),
    "admin.verification_licence": Entry(_pending_doctor, (ADMIN,), ADMINS),
    "admin.verification_reject": Entry(_pending_doctor, (ADMIN,), ADMINS),
    "admissions.detail": Entry(_admission, (DESK, MANAGER, PATIENT, DOCTOR), {
        COLLEAGUE: "every doctor of the hospital sees its admissions (the ward board)"}),
    "admissions.discharge": Entry(_admission_with({"destination": "home"}), (DESK,)),
    "admissions.entered_in_error": Entry(_admission_with({"reason": "Wrong patient"}), (DESK,)),
    "admissions.summary": Entry(_admission_with({
        "diagnosis": "Quillsprain pneumonia", "course": "Improved", "medication": "None",
        "follow_up": "Clinic"}, discharged=True), (DOCTOR,)),
    "admissions.transfer": Entry(_admission_with({"ward": "South", "bed": "7"}), (DESK,)),
    "admissions.admit_patient": Entry(_admit_patient, (DESK,), {
        DESK: "any hospital's front desk admits a patient who arrives"}),
    "appointments.detail": Entry(_appointment, (DESK, PATIENT, DOCTOR)),
    "appointments.act": Entry(lambda w, role: _appointment(w, role, "cancelled"),
                              (DESK, PATIENT, DOCTOR)),
    "appointments.propose": Entry(_requested_appointment, (DESK, DOCTOR)),
    "appointments.book": Entry(_book, (PATIENT,), {
        PATIENT: "any patient books with any doctor who takes appointments"}),
    "appointments.schedule": Entry(_schedule, (DOCTOR, MANAGER)),
    "auditor.audit_job": Entry(_audit_job, (AUDITOR,), AUDITORS),
    "auditor.audit_report": Entry(_audit_job, (AUDITOR,), AUDITORS),
    "auditor.audit_status": Entry(_audit_job, (AUDITOR,), AUDITORS),
    "auditor.block": Entry(_block, (AUDITOR,), AUDITORS),
    "auditor.checkpoint_download": Entry(_checkpoint, (AUDITOR,), AUDITORS),
    "auditor.emergency_case": Entry(_emergency, (AUDITOR,), AUDITORS),
    "auditor.emergency_review_submit": Entry(_emergency, (AUDITOR,), AUDITORS),
    "auditor.public_key": Entry(_public_key, (AUDITOR,), AUDITORS),
    "directory.doctor": Entry(_doctor_entry, tuple(sorted(
        set(users.ROLES) - {AUDITOR})), {role: "the staff directory is open to everyone "
                                         "signed in" for role in (*users.ROLES, COLLEAGUE)}),
    "directory.edit": Entry(_doctor_entry, (DOCTOR, MANAGER)),
    "doctor.patient": Entry(_patient_id, (DOCTOR,), CHART),
    "doctor.patient_summary": Entry(_patient_id, (DOCTOR,), CHART),
    "doctor.patient_export_fhir": Entry(_patient_id, (DOCTOR,), CHART),
    "doctor.emergency_access": Entry(_patient_with({
        "password": PASSWORD, "reason": "Unconscious on arrival, no relatives"}), (DOCTOR,),
        CHART),
    "doctor.request_access": Entry(_patient_with({
        "scope": "all", "purpose": "treatment", "duration_days": "7"}), (DOCTOR,), CHART),
    "doctor.record_new": Entry(_record_new, (DOCTOR,), CHART),
    "doctor.record": Entry(_doctor_record("note"), (DOCTOR,)),
    "doctor.record_amend": Entry(_doctor_record("note", data=NOTE), (DOCTOR,)),
    "doctor.prescription_cancel": Entry(_doctor_record("prescription", data={
        "reason": "Wrong dose"}), (DOCTOR,)),
    "doctor.record_entered_in_error": Entry(_doctor_record("note", data={
        "reason": "Wrong patient"}), (DOCTOR,)),
    "doctor.record_add_files": Entry(_doctor_record("lab_report", data={
        "files": FileUpload(PDF, "more.pdf")}), (DOCTOR,)),
    "doctor.record_file": Entry(_doctor_record("lab_report", uploads=True), (DOCTOR,)),
    "doctor.record_receipt": Entry(_doctor_record("note"), (DOCTOR,)),
    "doctor.cancel_request": Entry(_cancel_request, (DOCTOR,)),
    "fhir.read": Entry(_fhir("resource_type", "resource_id"),
                       (PATIENT, DOCTOR, PHARMACIST, MANAGER), never=API_NEVER),
    "fhir.search": Entry(_fhir("resource_type", query=True),
                         (PATIENT, DOCTOR, PHARMACIST, MANAGER), never=API_NEVER),
    "fhir.patient": Entry(_fhir("patient_id"), (PATIENT, DOCTOR, PHARMACIST, MANAGER),
                          never=API_NEVER),
    "fhir.everything": Entry(_fhir("patient_id"), (PATIENT, DOCTOR, PHARMACIST, MANAGER),
                             never=API_NEVER),
    "notifications.open_one": Entry(_notification, (AUDITOR, DOCTOR, MANAGER, PATIENT,
                                                    RESEARCHER)),
    "notifications.mark_read": Entry(_notification, (AUDITOR, DOCTOR, MANAGER, PATIENT,
                                                     RESEARCHER)),
    "organization.cancel_request": Entry(_cancel_request, (MANAGER,)),
    "organization.staff_disable": Entry(_staff(), (MANAGER,)),
    "organization.staff_enable": Entry(_staff("disabled"), (MANAGER,)),
    "organization.staff_setup_code": Entry(_staff(), (MANAGER,)),
    "patient.revoke": Entry(lambda w, role: Case(w.inside[PATIENT], {
        "grant_id": _grant(w, w.inside[DOCTOR])["grant_id"]}), (PATIENT,)),
    "patient.record": Entry(_patient_record(), (PATIENT,)),
    "patient.document_amend": Entry(_patient_record("patient_provided", data={
        "title": "Hijacked", "symptoms": "Hijacked symptoms"}), (PATIENT,)),
    "patient.record_file": Entry(_patient_record("lab_report", uploads=True), (PATIENT,)),
    "patient.record_receipt": Entry(_patient_record(), (PATIENT,)),
    "patient.request_detail": Entry(_patient_request(), (PATIENT,)),
    "patient.approve": Entry(_patient_request({"duration_days": "7"}), (PATIENT,)),
    "patient.reject": Entry(_patient_request({"note": "No"}), (PATIENT,)),
    "research.decide": Entry(_study(approved=False), (ADMIN,), ADMINS),  # form: approve
    "research.download_export": Entry(_export, (RESEARCHER,)),
    "research.study": Entry(_study(), (ADMIN, AUDITOR, RESEARCHER), dict(
        ADMINS, **AUDITORS)),
    "research.study_aggregates": Entry(_study(), (RESEARCHER,)),
    "research.participant_counts": Entry(_joined_study, (PATIENT,), STUDY_PATIENTS),
    "research.study_exports": Entry(_study(), (RESEARCHER,)),
    "research.create_export": Entry(_cohort_study, (RESEARCHER,)),
    "research.join": Entry(_study(), (PATIENT,), STUDY_PATIENTS),
    "research.leave": Entry(_joined_study, (PATIENT,), STUDY_PATIENTS),
    "staff.lab_report_new": Entry(_lab_patient, (LAB,)),
    "staff.dispense": Entry(_staff_record(), (PHARMACIST,)),
    "staff.record": Entry(_staff_record(), (PHARMACIST, LAB)),
    "staff.record_file": Entry(_staff_record(uploads=True), (LAB,), never={
        PHARMACIST: "a pharmacist reads prescriptions, and a prescription carries no file"}),
    "auth.revoke_token": Entry(_token, tuple(users.ROLES)),
}

WITHOUT_OWNER = {
    "static": "the app's own files, the same for everyone",
    "bootstrap.static": "Bootstrap's files, the same for everyone",
    "fhir.unknown": "answers 404 OperationOutcome to everyone: there is nothing to own",
}


def form_data(data):
    """The form as the test client sends it, each file a new stream."""
    return {name: (io.BytesIO(value.data), value.name) if isinstance(value, FileUpload)
            else value for name, value in data.items()}
