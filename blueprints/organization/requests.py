"""An organization manager asks patients for access on behalf of the organization (e.g. a
pharmacy asking for prescriptions) and cancels pending requests."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints import clinical
from blueprints.clinical_forms import ConfirmForm, PatientSearchForm
from blueprints.form_errors import show_on_form
from blueprints.guards import roles_required
from blueprints.paging import cursor
from blueprints.organization import bp
from blueprints.organization.request_forms import OrgRequestAccessForm
from models.consent import workflow as consent
from models.core.errors import DomainError, InvalidInput
from models.people import organizations, patients, users
from models.storage.db import get_db


def _page(form, status=200, search=None, found=None):
    db = get_db()
    org = organizations.get(db, current_user.org_id) if current_user.org_id else None
    page = consent.requests_page(db, requester_id=org["human_id"], before=cursor()) if org else None
    chosen = (form.patient_id.data or "").strip().upper()
    return render_template("organization/requests.html", form=form, organization=org,
                           requests=page.items if page else [], page=page,
                           cancel_endpoint="organization.cancel_request",
                           patient_cards=patients.cards_by_id(db, [req["patient_id"]
                                                                   for req in page or ()]),
                           search=search or PatientSearchForm(formdata=None), found=found,
                           banner=patients.card_of(db, chosen) if chosen else None,
                           describe_scope=consent.describe_scope), status


@bp.route("/requests")
@roles_required(users.ORG_MANAGER)
def requests():
    """The requests sent, a patient search, and the form (for the patient chosen, if any)."""
    form = OrgRequestAccessForm(formdata=None)
    form.patient_id.data = request.args.get("patient_id", "")[:40]
    search = PatientSearchForm(request.args)
    picked, found, status = clinical.find_patient(get_db(), search)
    if picked:
        form.patient_id.data = picked
    return _page(form, status, search=search, found=found)


@bp.route("/requests/new", methods=["POST"])
@roles_required(users.ORG_MANAGER)
def request_new():
    form = OrgRequestAccessForm()
    if not current_user.org_id:
        raise InvalidInput("Your account does not belong to an organization.")
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        req = consent.request_access(
            get_db(), requester=current_user.doc, patient_id=form.patient_id.data,
            scope_kind=form.scope.data, type_names=form.types.data, record_text=form.records.data,
            purpose=form.purpose.data, duration_days=form.duration_days.data,
            one_time=form.one_time.data, message=form.message.data)
    except DomainError as exc:
        if exc.status == 404:
            exc = InvalidInput(exc.message, {"patient_id": exc.message})
        return _page(form, show_on_form(form, exc))
    flash(f"Request {req['request_id']} is sent to {req['patient_id']}.", "success")
    return redirect(url_for("organization.requests"))


@bp.route("/requests/<request_id>/cancel", methods=["POST"])
@roles_required(users.ORG_MANAGER)
def cancel_request(request_id):
    form = ConfirmForm()
    if not form.validate_on_submit():
        raise InvalidInput("The form could not be read. Reload and try again.")
    req = consent.cancel(get_db(), user=current_user.doc, request_id=request_id)
    flash(f"Request {req['request_id']} is cancelled.", "success")
    return redirect(url_for("organization.requests"))
