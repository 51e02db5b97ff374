"""The doctor's pages: find a patient, see what is allowed now (and why the rest is hidden),
write and amend records, request access, and break the glass in an emergency."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints import clinical, fhir_download
from blueprints.clinical_forms import (ConfirmForm, EmergencyForm, EnteredInErrorForm, FilesForm,
                                       PatientSearchForm, RequestAccessForm, prefill,
                                       record_form_class, record_values)
from blueprints.doctor import bp
from blueprints.form_errors import submitted
from blueprints.guards import roles_required
from blueprints.paging import cursor
from blueprints.template_helpers import local_time_text
from models.clinical import reading, records, summary
from models.consent import access, emergency
from models.consent import workflow as consent
from models.core import clock, record_types
from models.core.errors import InvalidInput
from models.exchange import fhir_export
from models.people import users
from models.people import patients
from models.people.patients import require_patient
from models.storage.db import get_db


def _me():
    return current_user.doc


@bp.route("/")
@roles_required(users.DOCTOR)
def dashboard():
    db, me = get_db(), current_user.human_id
    grants = [grant for grant in consent.grants_to(db, access.grantee_ids(_me()))
              if consent.is_active(grant, clock.now_ms())]
    sent = consent.requests_page(db, requested_by=me).items[:10]
    cases = emergency.page(db, doctor_id=me).items[:5]
    named = patients.cards_by_id(db, [doc["patient_id"] for doc in (*grants, *sent, *cases)])
    return render_template("doctor/dashboard.html", search=PatientSearchForm(), requests=sent,
                           grants=grants, emergencies=cases, patient_cards=named)


@bp.route("/patients")
@roles_required(users.DOCTOR)
def find_patient():
    form = PatientSearchForm(request.args)
    patient_id, found, status = clinical.find_patient(get_db(), form)
    if patient_id:
        return redirect(url_for("doctor.patient", patient_id=patient_id))
    return render_template("doctor/find_patient.html", search=form, found=found), status


@bp.route("/patients/<patient_id>")
@roles_required(users.DOCTOR)
def patient(patient_id):
    db = get_db()
    person = require_patient(db, patient_id)
    versions = records.for_patient(db, person["human_id"])
    ctx, decisions = access.evaluate_all(db, _me(), person["human_id"], versions)
    groups = records.grouped(versions)
    pending = consent.pending_between(db, current_user.human_id, person["human_id"])
    return render_template(
        "doctor/patient.html", patient=person, banner=patients.card(person), groups=groups, decisions=decisions,
        grants=[grant for grant in ctx.grants if consent.is_active(grant, ctx.now)],
        emergencies=ctx.open_emergencies(), pending=pending, type_labels=record_types.TYPE_LABELS,
        exportable=any(map(fhir_export.exportable, decisions.values())),
        writable=record_types.CLINICIAN_TYPES, describe_scope=consent.describe_scope)


@bp.route("/patients/<patient_id>/summary")
@roles_required(users.DOCTOR)
def patient_summary(patient_id):
    """Allergies, problems, medications and vitals on one page; each record shown is a read."""
    db = get_db()
    person = require_patient(db, patient_id)
    return render_template("doctor/summary.html", patient=person, summary=summary.for_reader(
        db, clinical.data_key(), _me(), person["human_id"]))


@bp.route("/patients/<patient_id>/export.fhir.json")
@roles_required(users.DOCTOR)
def patient_export_fhir(patient_id):
    """What the patient allows me to read now, as a FHIR R4 Bundle; each record a sealed read."""
    person = require_patient(get_db(), patient_id)
    return fhir_download.bundle_download(_me(), person["human_id"])


@bp.route("/patients/<patient_id>/records/new/<type_name>", methods=["GET", "POST"])
@roles_required(users.DOCTOR)
def record_new(patient_id, type_name):
    db = get_db()
    person = require_patient(db, patient_id)
    if type_name not in record_types.CLINICIAN_TYPES:
        abort(404)
    form = record_form_class(type_name)()
    status = 200
    if request.method == "POST":
        doc, status = submitted(form, lambda: records.create(
            db, clinical.data_key(), author=_me(), patient_id=person["human_id"],
            type_name=type_name, raw=record_values(form, type_name), uploads=clinical.uploads(),
            max_bytes=clinical.max_bytes()), fallback_field="files" if "files" in form else None)
        if doc:
            current_app.logger.info("record created record=%s v1 by=%s", doc["record_id"],
                                    current_user.human_id)
            flash(f"Record {doc['record_id']} is saved and sealed.", "success")
            return redirect(url_for("doctor.record", record_id=doc["record_id"], version=1))
    return render_template("doctor/record_form.html", form=form, patient=person,
                           banner=patients.card(person), spec=record_types.TYPES[type_name], amending=None), status


@bp.route("/records/<record_id>/v<int:version>")
@roles_required(users.DOCTOR)
def record(record_id, version):
    db = get_db()
    view = clinical.record_view(db, _me(), record_id, version)
    return render_template("doctor/record.html", rows=clinical.fields_with_values(view["spec"], view["data"]),
                           may_amend=records.may_amend(_me(), view["record"]),
                           files_form=FilesForm(), error_form=EnteredInErrorForm(), **view)


def _amendable(db, record_id, version):
    doc = records.get_version(db, record_id, version)
    if doc is None:
        abort(404)
    if not records.may_amend(_me(), doc):
        abort(403)
    return doc


@bp.route("/records/<record_id>/v<int:version>/amend", methods=["GET", "POST"])
@roles_required(users.DOCTOR)
def record_amend(record_id, version):
    db = get_db()
    doc = _amendable(db, record_id, version)
    form = record_form_class(doc["type"])()
    status = 200
    if request.method == "GET":
        doc, data = reading.open_for_amendment(db, clinical.data_key(), _me(), record_id, version)
        prefill(form, doc["type"], data, doc["sensitivity"])
    else:
        new, status = clinical.save_amendment(db, form, _me(), doc)
        if new:
            flash(f"Version {new['version']} of {record_id} is saved and sealed.", "success")
            return redirect(url_for("doctor.record", record_id=record_id, version=new["version"]))
    return render_template("doctor/record_form.html", form=form,
                           patient={"human_id": doc["patient_id"]},
                           banner=patients.card_of(db, doc["patient_id"]), spec=record_types.TYPES[doc["type"]], amending=doc), status


@bp.route("/records/<record_id>/v<int:version>/entered-in-error", methods=["POST"])
@roles_required(users.DOCTOR)
def record_entered_in_error(record_id, version):
    db = get_db()
    _amendable(db, record_id, version)
    form = EnteredInErrorForm()
    if not form.validate_on_submit():
        raise InvalidInput("Say why this record is wrong.")
    records.mark_entered_in_error(db, user=_me(), record_id=record_id, version=version,
                                  reason=form.reason.data)
    flash(f"{record_id} version {version} is marked as entered in error.", "success")
    return redirect(url_for("doctor.record", record_id=record_id, version=version))


@bp.route("/records/<record_id>/v<int:version>/cancel-prescription", methods=["POST"])
@roles_required(users.DOCTOR)
def prescription_cancel(record_id, version):
    db = get_db()
    _amendable(db, record_id, version)
    form = EnteredInErrorForm()
    if not form.validate_on_submit():
        raise InvalidInput("Say why the prescription is cancelled.")
    records.cancel_prescription(db, user=_me(), record_id=record_id, version=version,
                                reason=form.reason.data)
    flash(f"Prescription {record_id} is cancelled.", "success")
    return redirect(url_for("doctor.record", record_id=record_id, version=version))


@bp.route("/records/<record_id>/v<int:version>/files", methods=["POST"])
@roles_required(users.DOCTOR)
def record_add_files(record_id, version):
    db = get_db()
    _amendable(db, record_id, version)
    form = FilesForm()
    if not form.validate_on_submit():
        raise InvalidInput("The form could not be read. Reload and try again.")
    new = records.add_files(db, clinical.data_key(), author=_me(), record_id=record_id,
                            version=version, uploads=clinical.uploads(),
                            max_bytes=clinical.max_bytes())
    flash(f"The files are attached as version {new['version']}.", "success")
    return redirect(url_for("doctor.record", record_id=record_id, version=new["version"]))


@bp.route("/records/<record_id>/v<int:version>/files/<int:index>")
@roles_required(users.DOCTOR)
def record_file(record_id, version, index):
    return clinical.send_attachment(get_db(), _me(), record_id, version, index)


@bp.route("/patients/<patient_id>/request-access", methods=["GET", "POST"])
@roles_required(users.DOCTOR)
def request_access(patient_id):
    db = get_db()
    person = require_patient(db, patient_id)
    form = RequestAccessForm()
    status = 200
    if request.method == "GET":
        _prefill_request(form)
    if request.method == "POST":
        req, status = submitted(form, lambda: consent.request_access(
            db, requester=_me(), patient_id=person["human_id"], scope_kind=form.scope.data,
            type_names=form.types.data, record_text=form.records.data, purpose=form.purpose.data,
            duration_days=form.duration_days.data, one_time=form.one_time.data,
            message=form.message.data))
        if req:
            flash(f"Request {req['request_id']} is sent to {person['human_id']}.", "success")
            return redirect(url_for("doctor.patient", patient_id=person["human_id"]))
    return render_template("doctor/request_access.html", form=form, patient=person,
                           banner=patients.card(person)), status


def _prefill_request(form):
    """Terms suggested by the link that led here (an appointment's "Request access": its
    reason and a period covering it); only values the form offers are taken, and nothing is
    sent until the doctor submits. The patient still decides."""
    purpose, days = request.args.get("purpose"), request.args.get("duration_days")
    if purpose in dict(consent.PURPOSES):
        form.purpose.data = purpose
    if days in {str(value) for value, _ in consent.DURATIONS}:
        form.duration_days.data = days
    message = request.args.get("message", "")
    if message:
        form.message.data = message[:consent.MAX_MESSAGE_LENGTH]


@bp.route("/requests")
@roles_required(users.DOCTOR)
def my_requests():
    page = consent.requests_page(get_db(), requested_by=current_user.human_id, before=cursor())
    return render_template("doctor/requests.html", requests=page.items, page=page,
                           patient_cards=patients.cards_by_id(get_db(), [req["patient_id"]
                                                                         for req in page]),
                           cancel_endpoint="doctor.cancel_request",
                           describe_scope=consent.describe_scope)


@bp.route("/requests/<request_id>/cancel", methods=["POST"])
@roles_required(users.DOCTOR)
def cancel_request(request_id):
    form = ConfirmForm()
    if not form.validate_on_submit():
        raise InvalidInput("The form could not be read. Reload and try again.")
    req = consent.cancel(get_db(), user=_me(), request_id=request_id)
    flash(f"Request {req['request_id']} is cancelled.", "success")
    return redirect(url_for("doctor.my_requests"))


@bp.route("/patients/<patient_id>/emergency", methods=["GET", "POST"])
@roles_required(users.DOCTOR)
def emergency_access(patient_id):
    db = get_db()
    person = require_patient(db, patient_id)
    form = EmergencyForm()
    status = 200
    if request.method == "POST":
        case, status = submitted(form, lambda: emergency.open_emergency(
            db, doctor=_me(), patient_id=person["human_id"], password=form.password.data,
            reason=form.reason.data, minutes=current_app.config["EMERGENCY_MINUTES"]))
        if case:
            current_app.logger.warning("emergency access opened id=%s by=%s patient=%s",
                                       case["emergency_id"], current_user.human_id,
                                       person["human_id"])
            flash(f"Emergency access {case['emergency_id']} is open until "
                  f"{local_time_text(case['ends_at'], 'time')}. It is shown to the patient and reviewed "
                  "by an auditor.", "warning")
            return redirect(url_for("doctor.patient_summary", patient_id=person["human_id"]))
    return render_template("doctor/emergency.html", form=form, patient=person,
                           banner=patients.card(person),
                           minutes=current_app.config["EMERGENCY_MINUTES"]), status
