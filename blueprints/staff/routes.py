"""Pharmacists and lab technicians: prescriptions shared with the pharmacy (read, dispense),
and lab reports written for patients who granted the lab."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints import clinical
from blueprints.clinical_forms import (ConfirmForm, PatientSearchForm, record_form_class,
                                       record_values)
from blueprints.form_errors import submitted
from blueprints.guards import roles_required
from blueprints.staff import bp
from models.clinical import pharmacy, records
from models.consent import access
from models.core import record_types
from models.core.errors import Forbidden, InvalidInput
from models.people import organizations, patients, users
from models.people.patients import require_patient
from models.storage.db import get_db


def _me():
    return current_user.doc


@bp.route("/")
@roles_required(users.PHARMACIST, users.LAB_TECH)
def dashboard():
    db = get_db()
    org = organizations.get(db, current_user.org_id) if current_user.org_id else None
    if current_user.role == users.PHARMACIST:
        shared = pharmacy.shared_prescriptions(db, _me())
        return render_template("staff/pharmacy.html", organization=org, shared=shared,
                               cards=patients.cards_by_id(db, [doc["patient_id"]
                                                               for doc, _ in shared]),
                               type_labels=record_types.TYPE_LABELS)
    reports = records.authored_by(db, current_user.human_id)
    return render_template("staff/lab.html", organization=org, search=PatientSearchForm(),
                           reports=reports, type_labels=record_types.TYPE_LABELS,
                           cards=patients.cards_by_id(db, [doc["patient_id"] for doc in reports]))


@bp.route("/records/<record_id>/v<int:version>")
@roles_required(users.PHARMACIST, users.LAB_TECH)
def record(record_id, version):
    view = clinical.record_view(get_db(), _me(), record_id, version)
    return render_template("staff/record.html", rows=clinical.fields_with_values(view["spec"], view["data"]),
                           **view)


@bp.route("/records/<record_id>/v<int:version>/files/<int:index>")
@roles_required(users.PHARMACIST, users.LAB_TECH)
def record_file(record_id, version, index):
    return clinical.send_attachment(get_db(), _me(), record_id, version, index)


@bp.route("/prescriptions/<record_id>/v<int:version>/dispense", methods=["POST"])
@roles_required(users.PHARMACIST)
def dispense(record_id, version):
    form = ConfirmForm()
    if not form.validate_on_submit():
        raise InvalidInput("The form could not be read. Reload and try again.")
    pharmacy.dispense(get_db(), pharmacist=_me(), record_id=record_id, version=version)
    current_app.logger.info("prescription dispensed record=%s v%s by=%s", record_id, version,
                            current_user.human_id)
    flash(f"{record_id} is marked as dispensed.", "success")
    return redirect(url_for("staff.dashboard"))


@bp.route("/lab/patients")
@roles_required(users.LAB_TECH)
def lab_find_patient():
    form = PatientSearchForm(request.args)
    patient_id, found, status = clinical.find_patient(get_db(), form)
    if patient_id:
        return redirect(url_for("staff.lab_report_new", patient_id=patient_id))
    return render_template("staff/lab.html", search=form, found=found, reports=[],
                           organization=None, type_labels=record_types.TYPE_LABELS), status


@bp.route("/lab/patients/<patient_id>/reports/new", methods=["GET", "POST"])
@roles_required(users.LAB_TECH)
def lab_report_new(patient_id):
    db = get_db()
    person = require_patient(db, patient_id)
    if access.active_grant_for_type(db, _me(), person["human_id"], record_types.LAB_REPORT) is None:
        raise Forbidden("This patient has not granted your lab access for lab reports.")
    form = record_form_class(record_types.LAB_REPORT)()
    status = 200
    if request.method == "POST":
        doc, status = submitted(form, lambda: records.create(
            db, clinical.data_key(), author=_me(), patient_id=person["human_id"],
            type_name=record_types.LAB_REPORT, raw=record_values(form, record_types.LAB_REPORT),
            uploads=clinical.uploads(), max_bytes=clinical.max_bytes()), fallback_field="files")
        if doc:
            flash(f"Lab report {doc['record_id']} is saved and sealed.", "success")
            return redirect(url_for("staff.record", record_id=doc["record_id"], version=1))
    return render_template("staff/lab_report_new.html", form=form, patient=person,
                           banner=patients.card(person)), status
