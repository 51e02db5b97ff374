"""Admissions (issue 12): the desk admits, transfers and discharges; the ward board and the
hospital's history for its staff; the patient's stays; the attending doctor's in-patients and
the discharge summaries they still have to write.

Thin views: each parses its form and calls models.care.admissions, which decides who may see
or change which admission (NotFound for anyone outside the hospital or the stay).
"""
from datetime import date, datetime, time, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints import clinical
from blueprints.admissions import bp
from blueprints.admissions.forms import (AdmitForm, DischargeForm, ErrorForm, SummaryForm,
                                         TransferForm)
from blueprints.clinical_forms import PatientSearchForm
from blueprints.form_errors import submitted
from blueprints.guards import roles_required
from blueprints.template_helpers import installation_zone
from models.care import admission_rules as rules
from models.care import admission_summaries, admissions
from models.core.clock import now
from models.core.errors import Forbidden, InvalidInput
from models.people import organizations, patients, users
from models.storage.db import get_db

STAFF = (users.FRONT_DESK, users.ORG_MANAGER, users.DOCTOR)
HISTORY_DAYS = 7


def _context(**extra):
    return dict(extra, status_labels=admissions.STATUS_LABELS,
                destinations=rules.DESTINATION_LABELS)


@bp.route("/admit", methods=["GET", "POST"])
@roles_required(users.FRONT_DESK)
def admit():
    db = get_db()
    try:
        org = admissions.desk_hospital(db, current_user.doc)
    except Forbidden as exc:  # a clinic's desk, or a desk without an organization: say so
        return (render_template("admissions/not_a_hospital.html", message=exc.message),
                200 if request.method == "GET" else exc.status)
    search = PatientSearchForm(request.args)
    found, search_status = None, 200
    if request.method == "GET" and (request.args.get("q") or request.args.get("date_of_birth")):
        patient_id, found, search_status = clinical.find_patient(db, search)
        if patient_id:
            return redirect(url_for("admissions.admit", patient=patient_id))
    form = AdmitForm(admissions.doctors_of(db, org["human_id"]))
    if request.method == "GET":
        form.patient_id.data = request.args.get("patient", "")[:20]
        chosen = patients.card_of(db, form.patient_id.data) if form.patient_id.data else None
        return render_template("admissions/admit.html", form=form, search=search, found=found,
                               chosen=chosen, organization=org), search_status
    done, status = submitted(form, lambda: admissions.admit(
        db, current_user.doc, patient_id=form.patient_id.data, ward=form.ward.data,
        bed=form.bed.data, reason=form.reason.data, attending=form.attending.data,
        at=form.at.data, zone=installation_zone()))
    if done:
        flash(f"{done['patient_name']} is admitted to {done['ward']}, bed {done['bed']} "
              f"({done['admission_id']}).", "success")
        return redirect(url_for("admissions.detail", admission_id=done["admission_id"]))
    return render_template("admissions/admit.html", form=form, search=search, found=None,
                           chosen=None, organization=org), status


def _detail_page(doc, status=200, transfer=None, discharge=None, error=None):
    desk = current_user.role == users.FRONT_DESK
    return render_template(
        "admissions/detail.html", **_context(
            admission=doc, banner=patients.card_of(get_db(), doc["patient_id"]),
            organization=organizations.get(get_db(), doc["org_id"]),
            show_reason=admissions.sees_reason(current_user.doc, doc),
            transfer=transfer or (TransferForm() if desk else None),
            discharge=discharge or (DischargeForm() if desk else None),
            error=error or (ErrorForm() if desk else None))), status


@bp.route("/<admission_id>")
@roles_required(*STAFF, users.PATIENT)
def detail(admission_id):
    return _detail_page(admissions.visible(get_db(), current_user.doc, admission_id))


def _desk_step(admission_id, form, form_name, action, said):
    """The POST of one of the desk's forms on an admission: run the step, or show the
    admission again with the form's messages."""
    db = get_db()
    done, status = submitted(form, lambda: action(db))
    if done:
        flash(said(done), "success")
        return redirect(url_for("admissions.detail", admission_id=done["admission_id"]))
    return _detail_page(admissions.visible(db, current_user.doc, admission_id), status,
                        **{form_name: form})


@bp.route("/<admission_id>/transfer", methods=["POST"])
@roles_required(users.FRONT_DESK)
def transfer(admission_id):
    form = TransferForm()
    return _desk_step(admission_id, form, "transfer", lambda db: admissions.transfer(
        db, current_user.doc, admission_id, ward=form.ward.data, bed=form.bed.data,
        at=form.at.data, zone=installation_zone()),
        lambda done: f"{done['admission_id']} moved to {done['ward']}, bed {done['bed']}.")


@bp.route("/<admission_id>/discharge", methods=["POST"])
@roles_required(users.FRONT_DESK)
def discharge(admission_id):
    form = DischargeForm()
    return _desk_step(admission_id, form, "discharge", lambda db: admissions.discharge(
        db, current_user.doc, admission_id, destination=form.destination.data, at=form.at.data,
        zone=installation_zone()),
        lambda done: f"{done['patient_name']} is discharged ({done['admission_id']}).")


@bp.route("/<admission_id>/error", methods=["POST"])
@roles_required(users.FRONT_DESK)
def entered_in_error(admission_id):
    form = ErrorForm()
    return _desk_step(admission_id, form, "error", lambda db: admissions.mark_entered_in_error(
        db, current_user.doc, admission_id, reason=form.reason.data),
        lambda done: f"{done['admission_id']} is marked as entered in error.")


@bp.route("/board")
@roles_required(*STAFF)
def board():
    db = get_db()
    org = organizations.get(db, current_user.org_id) if current_user.org_id else None
    wards = admissions.ward_board(db, current_user.doc, org["human_id"]) if org else {}
    return render_template("admissions/board.html", **_context(
        wards=wards, organization=org,
        show_reason=current_user.role == users.DOCTOR))


def _week_start():
    """The first day of the history's window (`?from=YYYY-MM-DD`, default a week ago)."""
    text = request.args.get("from", "").strip()
    today = now().astimezone(installation_zone()).date()
    if not text:
        return today - timedelta(days=HISTORY_DAYS - 1)
    problem = "The page link is not valid (from must be a date as YYYY-MM-DD)."
    if len(text) != 10:
        raise InvalidInput(problem)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(problem) from None


@bp.route("/history")
@roles_required(*STAFF)
def history():
    db = get_db()
    zone = installation_zone()
    first = _week_start()
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(first + timedelta(days=HISTORY_DAYS), time(0), tzinfo=zone)
    org_id = current_user.org_id
    found = admissions.history(db, current_user.doc, org_id, start, end) if org_id else []
    return render_template("admissions/history.html", **_context(
        stays=found, first=first, last=first + timedelta(days=HISTORY_DAYS - 1),
        earlier=first - timedelta(days=HISTORY_DAYS),
        later=first + timedelta(days=HISTORY_DAYS),
        organization=organizations.get(db, org_id)))


@bp.route("/mine")
@roles_required(users.PATIENT)
def mine():
    db = get_db()
    stays = admissions.stays_of(db, current_user.human_id)
    orgs = organizations.by_human_ids(db, [stay["org_id"] for stay in stays])
    return render_template("admissions/mine.html", **_context(stays=stays, orgs=orgs))


@bp.route("/inpatients")
@roles_required(users.DOCTOR)
def inpatients():
    db = get_db()
    return render_template("admissions/inpatients.html", **_context(
        stays=admissions.attending_of(db, current_user.doc, admissions.ADMITTED),
        to_write=admission_summaries.summaries_to_write(db, current_user.doc)))


@bp.route("/summaries")
@roles_required(users.DOCTOR)
def summaries():
    return render_template("admissions/summaries.html", **_context(
        to_write=admission_summaries.summaries_to_write(get_db(), current_user.doc)))


@bp.route("/<admission_id>/summary", methods=["GET", "POST"])
@roles_required(users.DOCTOR)
def summary(admission_id):
    db = get_db()
    doc = admission_summaries.summary_admission(db, current_user.doc, admission_id)
    prefill = admission_summaries.summary_prefill(doc, installation_zone())
    form = SummaryForm()
    if request.method == "GET":
        return render_template("admissions/summary.html", form=form, admission=doc,
                               prefill=prefill, banner=patients.card_of(db, doc["patient_id"]))
    done, status = submitted(form, lambda: admission_summaries.write_summary(
        db, clinical.data_key(), current_user.doc, admission_id, form.values(),
        zone=installation_zone(), max_bytes=clinical.max_bytes()))
    if done:
        linked, record = done
        flash(f"The discharge summary {record['record_id']} of {linked['admission_id']} is "
              "saved.", "success")
        return redirect(url_for("admissions.summaries"))
    return render_template("admissions/summary.html", form=form, admission=doc, prefill=prefill,
                           banner=patients.card_of(db, doc["patient_id"])), status


@bp.route("/admit/<patient_id>")
@roles_required(users.FRONT_DESK)
def admit_patient(patient_id):
    """A search result: the admit form with this patient chosen."""
    return redirect(url_for("admissions.admit", patient=patient_id[:20]))
