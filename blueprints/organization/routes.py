"""The organization manager's pages: its staff, adding and disabling them, the front desk.

Every lookup of a staff member includes the manager's own `org_id`, so another
organization's staff is simply not found (404).
"""
from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.form_errors import submitted
from blueprints.guards import roles_required
from blueprints.organization import bp
from blueprints.organization.forms import FrontDeskPatientForm, StaffForm
from models.people import account_events, organizations, patients, users
from models.storage.db import get_db


def _own_organization(db):
    return organizations.require(db, current_user.org_id)


def _code_shown_once(**context):
    """A page holding a one-time setup code: never cached, never shown again."""
    response = make_response(render_template("organization/account_created.html", **context))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/")
@roles_required(users.ORG_MANAGER)
def dashboard():
    db = get_db()
    org = organizations.get(db, current_user.org_id) if current_user.org_id else None
    if org is None:  # an account left without an organization: say so instead of failing
        return render_template("organization/no_organization.html")
    return render_template("organization/dashboard.html", organization=org,
                           staff=organizations.members(db, org["human_id"]),
                           kind_label=organizations.KIND_LABELS[org["kind"]])


@bp.route("/staff/new", methods=["GET", "POST"])
@roles_required(users.ORG_MANAGER)
def staff_new():
    db = get_db()
    org = _own_organization(db)
    form = StaffForm(org)
    if request.method == "GET":
        return render_template("organization/staff_new.html", form=form, organization=org)
    created, status = submitted(form, lambda: organizations.add_member(
        db, org, role=form.role.data, name=form.name.data, username=form.username.data,
        rounds=current_app.config["BCRYPT_ROUNDS"], created_by=current_user.human_id,
        specialty=form.specialty.data if "specialty" in form else None))
    if created:
        account, code = created
        current_app.logger.info("staff added user=%s org=%s by=%s", account["human_id"],
                                org["human_id"], current_user.human_id)
        return _code_shown_once(account=account, code=code, organization=org)
    return render_template("organization/staff_new.html", form=form, organization=org), status


@bp.route("/staff/<human_id>/disable", methods=["POST"])
@roles_required(users.ORG_MANAGER)
def staff_disable(human_id):
    account = account_events.disable_account(get_db(), human_id, current_user.doc)
    current_app.logger.info("staff disabled user=%s by=%s", account["human_id"], current_user.human_id)
    flash(f"{account['human_id']} {account['name']} is disabled.", "success")
    return redirect(url_for("organization.dashboard"))


@bp.route("/staff/<human_id>/enable", methods=["POST"])
@roles_required(users.ORG_MANAGER)
def staff_enable(human_id):
    account = account_events.enable_account(get_db(), human_id, current_user.doc)
    current_app.logger.info("staff enabled user=%s by=%s", account["human_id"], current_user.human_id)
    flash(f"{account['human_id']} {account['name']} is enabled again.", "success")
    return redirect(url_for("organization.dashboard"))


@bp.route("/staff/<human_id>/setup-code", methods=["POST"])
@roles_required(users.ORG_MANAGER)
def staff_setup_code(human_id):
    db = get_db()
    account, code = account_events.reissue_setup_code(
        db, human_id, current_user.doc, current_app.config["BCRYPT_ROUNDS"])
    current_app.logger.info("setup code reissued user=%s by=%s", account["human_id"],
                            current_user.human_id)
    return _code_shown_once(account=account, code=code, organization=_own_organization(db),
                            reissued=True)


@bp.route("/patients/new", methods=["GET", "POST"])
@roles_required(users.ORG_MANAGER)
def patient_new():
    db = get_db()
    org = patients.registering_desk(_own_organization(db))
    form = FrontDeskPatientForm()
    if request.method == "GET":
        del form.confirm_new_person  # asked only about a possible duplicate
        return render_template("organization/patient_new.html", form=form, organization=org)
    duplicates = []

    def register():
        try:
            return patients.register_at_desk(
                db, org, rounds=current_app.config["BCRYPT_ROUNDS"],
                registered_by=current_user.doc,
                confirm_new_person=form.confirm_new_person.data, **form.details())
        except patients.PossibleDuplicate as exc:
            duplicates.extend(exc.matches)
            raise
    created, status = submitted(form, register)
    if not duplicates and not form.confirm_new_person.data:
        del form.confirm_new_person
    if created:
        patient, code = created
        current_app.logger.info("patient registered at desk user=%s org=%s by=%s",
                                patient["human_id"], org["human_id"], current_user.human_id)
        return _code_shown_once(account=patient, code=code, organization=org)
    return render_template("organization/patient_new.html", form=form, organization=org,
                           duplicates=duplicates), status
