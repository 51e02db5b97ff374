"""The administrator's pages: organizations, auditors, the licence queue, locked accounts.

POST actions without fields (approve, unlock, disable, enable, a new setup code) carry only
the CSRF token, which
CSRFProtect checks for every POST before the view runs.
"""
import io

from flask import (abort, current_app, flash, make_response, redirect, render_template, request, send_file,
                   url_for)
from flask_login import current_user

from blueprints.admin import bp
from blueprints.admin.forms import AuditorForm, OrganizationForm, RejectForm, TwoFactorResetForm
from blueprints.form_errors import show_on_form, submitted
from blueprints.guards import roles_required
from models.core.errors import InvalidInput
from models.people import (account_events, accounts, directory, organizations,
                           two_factor_events, users, verification)
from models.storage.db import get_db


def _code_shown_once(template, **context):
    """A page holding a one-time setup code: never cached, never shown again."""
    response = make_response(render_template(template, **context))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/")
@roles_required(users.ADMIN)
def dashboard():
    db = get_db()
    return render_template("admin/dashboard.html",
                           organizations=organizations.count(db),
                           pending=verification.queue(db), locked=accounts.locked(db),
                           auditors=accounts.by_role(db, users.AUDITOR),
                           list_limit=accounts.LIST_LIMIT)


# Organizations ---------------------------------------------------------------------------
@bp.route("/organizations")
@roles_required(users.ADMIN)
def organization_list():
    db = get_db()
    orgs = organizations.list_all(db)
    return render_template("admin/organizations.html", organizations=orgs,
                           managers=organizations.managers(db, [org["human_id"] for org in orgs]),
                           kind_labels=organizations.KIND_LABELS)


@bp.route("/organizations/new", methods=["GET", "POST"])
@roles_required(users.ADMIN)
def organization_new():
    form = OrganizationForm()
    if request.method == "GET":
        return render_template("admin/organization_new.html", form=form)
    created, status = submitted(form, lambda: organizations.create_with_manager(
        get_db(), name=form.name.data, kind=form.kind.data, manager_name=form.manager_name.data,
        manager_username=form.manager_username.data, rounds=current_app.config["BCRYPT_ROUNDS"],
        created_by=current_user.human_id))
    if created:
        org, manager, code = created
        current_app.logger.info("organization created org=%s manager=%s by=%s",
                                org["human_id"], manager["human_id"], current_user.human_id)
        return _code_shown_once("admin/account_created.html", account=manager, code=code,
                                organization=org)
    return render_template("admin/organization_new.html", form=form), status


@bp.route("/organizations/<org_id>/disable", methods=["POST"])
@roles_required(users.ADMIN)
def organization_disable(org_id):
    org, _ = account_events.disable_organization(get_db(), org_id, current_user.doc)
    current_app.logger.info("organization disabled org=%s by=%s", org["human_id"], current_user.human_id)
    flash(f"{org['human_id']} {org['name']} and its accounts are disabled.", "success")
    return redirect(url_for("admin.organization_list"))


@bp.route("/organizations/<org_id>/enable", methods=["POST"])
@roles_required(users.ADMIN)
def organization_enable(org_id):
    org, restored = account_events.enable_organization(get_db(), org_id, current_user.doc)
    current_app.logger.info("organization enabled org=%s accounts=%d by=%s", org["human_id"],
                            len(restored), current_user.human_id)
    flash(f"{org['human_id']} {org['name']} is enabled again, with the {len(restored)} "
          "account(s) its disabling had switched off.", "success")
    return redirect(url_for("admin.organization_list"))


# Auditors ---------------------------------------------------------------------------------
@bp.route("/auditors", methods=["GET", "POST"])
@roles_required(users.ADMIN)
def auditors():
    db = get_db()
    form = AuditorForm()
    status = 200
    if request.method == "POST":
        created, status = submitted(form, lambda: accounts.create_auditor(
            db, name=form.name.data, username=form.username.data,
            rounds=current_app.config["BCRYPT_ROUNDS"], created_by=current_user.human_id))
        if created:
            auditor, code = created
            current_app.logger.info("auditor created user=%s by=%s", auditor["human_id"],
                                    current_user.human_id)
            return _code_shown_once("admin/account_created.html", account=auditor, code=code,
                                    organization=None)
    return render_template("admin/auditors.html", form=form,
                           auditors=accounts.by_role(db, users.AUDITOR)), status


# Credential verification ------------------------------------------------------------------
@bp.route("/verifications")
@roles_required(users.ADMIN)
def verification_queue():
    db = get_db()
    waiting = verification.queue(db)
    return render_template("admin/verification_queue.html", doctors=waiting,
                           organizations=organizations.by_human_ids(db, [d.get("org_id") for d in waiting]),
                           limit=verification.QUEUE_LIMIT)


@bp.route("/verifications/<doctor_id>")
@roles_required(users.ADMIN)
def verification_review(doctor_id):
    return _review_page(doctor_id, RejectForm())


def _review_page(doctor_id, reject_form, status=200):
    db = get_db()
    doctor = verification.get_doctor(db, doctor_id)
    org = organizations.get(db, doctor["org_id"]) if doctor.get("org_id") else None
    return render_template("admin/verification_review.html", doctor=doctor, organization=org,
                           reject_form=reject_form), status


@bp.route("/verifications/<doctor_id>/licence")
@roles_required(users.ADMIN)
def verification_licence(doctor_id):
    db = get_db()
    data, media_type, download_name = verification.open_licence(
        db, verification.get_doctor(db, doctor_id))
    response = send_file(io.BytesIO(data), mimetype=media_type, as_attachment=True,
                         download_name=download_name, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/verifications/<doctor_id>/approve", methods=["POST"])
@roles_required(users.ADMIN)
def verification_approve(doctor_id):
    doctor = verification.approve(get_db(), doctor_id, current_user.doc)
    current_app.logger.info("doctor verified user=%s by=%s height=%s", doctor["human_id"],
                            current_user.human_id, doctor["verification"]["sealed_height"])
    flash(f"{doctor['human_id']} {doctor['name']} is verified (ledger height "
          f"{doctor['verification']['sealed_height']}).", "success")
    return redirect(url_for("admin.verification_queue"))


@bp.route("/verifications/<doctor_id>/reject", methods=["POST"])
@roles_required(users.ADMIN)
def verification_reject(doctor_id):
    form = RejectForm()
    if not form.validate_on_submit():
        return _review_page(doctor_id, form, 400)
    try:
        doctor = verification.reject(get_db(), doctor_id, current_user.doc, form.reason.data)
    except InvalidInput as exc:
        return _review_page(doctor_id, form, show_on_form(form, exc))
    current_app.logger.info("licence rejected user=%s by=%s", doctor["human_id"], current_user.human_id)
    flash(f"The licence of {doctor['human_id']} {doctor['name']} is rejected.", "success")
    return redirect(url_for("admin.verification_queue"))


# Accounts ---------------------------------------------------------------------------------
@bp.route("/accounts")
@roles_required(users.ADMIN)
def account_list():
    db = get_db()
    query = request.args.get("q", "").strip()[:80]
    found, problem = None, None
    if query:
        try:
            found = directory.find_accounts(db, query)
        except InvalidInput as exc:
            problem = exc.message
    return render_template("admin/accounts.html", query=query, found=found, problem=problem,
                           locked=accounts.locked(db)), 400 if problem else 200


@bp.route("/accounts/<human_id>/unlock", methods=["POST"])
@roles_required(users.ADMIN)
def account_unlock(human_id):
    account = accounts.unlock(get_db(), human_id)
    current_app.logger.info("account unlocked user=%s by=%s", account["human_id"], current_user.human_id)
    flash(f"{account['human_id']} {account['name']} is unlocked.", "success")
    return redirect(url_for("admin.account_list"))


@bp.route("/accounts/<human_id>/disable", methods=["POST"])
@roles_required(users.ADMIN)
def account_disable(human_id):
    account = account_events.disable_account(get_db(), human_id, current_user.doc)
    current_app.logger.info("account disabled user=%s by=%s", account["human_id"], current_user.human_id)
    flash(f"{account['human_id']} {account['name']} is disabled.", "success")
    return redirect(url_for("admin.account_list", q=human_id))


@bp.route("/accounts/<human_id>/enable", methods=["POST"])
@roles_required(users.ADMIN)
def account_enable(human_id):
    account = account_events.enable_account(get_db(), human_id, current_user.doc)
    current_app.logger.info("account enabled user=%s by=%s", account["human_id"], current_user.human_id)
    flash(f"{account['human_id']} {account['name']} is enabled again.", "success")
    return redirect(url_for("admin.account_list", q=account["human_id"]))


@bp.route("/accounts/<human_id>/setup-code", methods=["POST"])
@roles_required(users.ADMIN)
def account_setup_code(human_id):
    account, code = account_events.reissue_setup_code(
        get_db(), human_id, current_user.doc, current_app.config["BCRYPT_ROUNDS"])
    current_app.logger.info("setup code reissued user=%s by=%s", account["human_id"],
                            current_user.human_id)
    return _code_shown_once("admin/account_created.html", account=account, code=code,
                            organization=None, reissued=True)


@bp.route("/accounts/<human_id>/two-factor", methods=["GET", "POST"])
@roles_required(users.ADMIN)
def account_two_factor_reset(human_id):
    """Switch off someone's two-factor sign-in (a lost phone), with a reason that is sealed."""
    db = get_db()
    account = users.by_human_id(db, human_id)
    if account is None:
        abort(404)
    form = TwoFactorResetForm()
    if request.method == "GET":
        return render_template("admin/two_factor_reset.html", form=form, account=account)
    done, status = submitted(form, lambda: two_factor_events.reset(
        db, current_user.doc, human_id, form.reason.data))
    if done:
        current_app.logger.info("two-factor reset user=%s by=%s", account["human_id"],
                                current_user.human_id)
        flash(f"Two-factor sign-in of {account['human_id']} {account['name']} is reset: they "
              "set it up again at their next sign-in.", "success")
        return redirect(url_for("admin.account_list", q=account["human_id"]))
    return render_template("admin/two_factor_reset.html", form=form, account=account), status
