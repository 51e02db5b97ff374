"""Two-factor sign-in pages: the code step after the password, enrolment, the account's
security page and new recovery codes.

The code step works on a half sign-in (`routes.HALF` in the session: the account whose
password was right, and when); nobody is logged in until the code (or one recovery code) is
accepted. Wrong codes count towards the account's lock-out and the step is rate limited per
address and per account.
"""
import segno
from flask import (current_app, flash, make_response, redirect, render_template, session,
                   url_for)
from flask_login import current_user
from markupsafe import Markup

from blueprints.auth import bp
from blueprints.auth.forms import ActivateForm, CodeForm, RecoveryForm, RegenerateForm
from blueprints.auth.routes import HALF, _now, sign_in
from blueprints.form_errors import submitted
from blueprints.guards import login_required, public
from extensions import limiter
from models.core.errors import Conflict
from models.people import two_factor, two_factor_events, users
from models.storage import authority
from models.storage.db import get_db

WRONG = "That code is not right, or it was already used. Wait for the next code and try again."


def _key():
    return current_app.extensions["medledger"]["data_key"]


def _half_user():
    """The account of the half sign-in, if it is recent, intact, active and not locked."""
    half = session.get(HALF)
    if not isinstance(half, dict):
        return None
    if _now() - float(half.get("at") or 0) > current_app.config["TWO_FACTOR_STEP_MINUTES"] * 60:
        session.pop(HALF, None)
        return None
    user = authority.authentic("users", users.get(get_db(), half.get("user")))
    if user is None or not user.get("active", True) or users.is_locked(user):
        session.pop(HALF, None)
        return None
    return user


def _ip_limit():
    return current_app.config["TWO_FACTOR_IP_LIMIT"]


def _account_limit():
    return current_app.config["TWO_FACTOR_ACCOUNT_LIMIT"]


def _account_key():
    """Per account: the half sign-in's account (a new session does not reset it)."""
    half = session.get(HALF)
    return "2fa-account:" + str(half.get("user") if isinstance(half, dict) else "none")


def _refused(form, field, user):
    """A wrong code: one more failure towards the lock-out (then the half sign-in ends)."""
    config = current_app.config
    locked = users.count_failure(get_db(), user, config["LOCKOUT_THRESHOLD"],
                                 config["LOCKOUT_MINUTES"])
    current_app.logger.info("second factor refused user=%s locked=%s", user["human_id"], locked)
    if locked:
        session.pop(HALF, None)
        flash(users.REFUSED, "danger")
        return redirect(url_for("auth.login"))
    getattr(form, field).errors.append(WRONG)
    return None


def _finish(user):
    users.succeeded(get_db(), user)
    next_url = (session.get(HALF) or {}).get("next")
    return sign_in(user, next_url)


def _step_page(code_form, recovery_form, status=200):
    return render_template("auth/two_factor_code.html", form=code_form,
                           recovery_form=recovery_form), status


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.limit(_account_limit, key_func=_account_key, methods=["POST"])
@public
def two_factor_code():
    user = _half_user()
    if user is None:
        flash("Sign in again: the code step has expired.", "info")
        return redirect(url_for("auth.login"))
    form, recovery = CodeForm(), RecoveryForm(formdata=None)
    if not form.is_submitted():
        return _step_page(form, recovery)
    if not form.validate():
        return _step_page(form, recovery, 400)
    if two_factor.accept_code(get_db(), _key(), user, form.code.data):
        return _finish(user)
    return _refused(form, "code", user) or _step_page(form, recovery, 401)


@bp.route("/login/recovery", methods=["POST"])
@limiter.limit(_ip_limit)
@limiter.limit(_account_limit, key_func=_account_key)
@public
def two_factor_recovery():
    """One recovery code instead of the app's code: it signs in at once, so a sign-in uses at
    most one."""
    user = _half_user()
    if user is None:
        flash("Sign in again: the code step has expired.", "info")
        return redirect(url_for("auth.login"))
    form, recovery = CodeForm(formdata=None), RecoveryForm()
    if not recovery.validate_on_submit():
        return _step_page(form, recovery, 400)
    if two_factor_events.use_recovery_code(get_db(), user, recovery.recovery.data):
        flash("You signed in with a recovery code; it will not work again. Make new codes on "
              "your security page when few are left.", "warning")
        return _finish(user)
    return _refused(recovery, "recovery", user) or _step_page(form, recovery, 401)


def _qr_svg(uri):
    """The QR code as an inline <svg> (presentation attributes only: no style, no script)."""
    return Markup(segno.make(uri, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", title="QR code of your two-factor key"))


def _no_store(body, status=200):
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/two-factor/setup", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    db, user = get_db(), current_user.doc
    if two_factor.is_enabled(db, user):
        return redirect(url_for("auth.security"))
    seed = two_factor.pending_secret(db, _key(), user)
    form = ActivateForm()
    status = 200
    if form.is_submitted():
        codes, status = submitted(form, lambda: two_factor_events.activate(
            db, _key(), user, form.code.data))
        if codes:
            current_app.logger.info("two-factor enrolled user=%s", user["human_id"])
            return _no_store(render_template("auth/recovery_codes.html", codes=codes,
                                             enrolled=True))
    uri = two_factor.provisioning_uri(user, seed)
    return _no_store(render_template(
        "auth/two_factor_setup.html", form=form, qr=_qr_svg(uri),
        manual_key=two_factor.manual_key(seed),
        required=two_factor.required(user, current_app.config["TWO_FACTOR_ROLES"])), status)


@bp.route("/account/security", methods=["GET", "POST"])
@login_required
def security():
    """The account's two-factor state, its sealed history, and new recovery codes."""
    db, user = get_db(), current_user.doc
    doc = two_factor.state(db, user)
    form = RegenerateForm()
    status = 200
    if form.is_submitted():
        if not (doc and doc.get("enabled")):
            raise Conflict("Two-factor sign-in is not on for this account.")
        codes, status = submitted(form, lambda: two_factor_events.regenerate(
            db, _key(), user, form.password.data, form.code.data))
        if codes:
            return _no_store(render_template("auth/recovery_codes.html", codes=codes,
                                             enrolled=False))
    return render_template(
        "auth/security.html", form=form, enabled=bool(doc and doc.get("enabled")),
        remaining=two_factor.remaining_codes(doc), events=two_factor_events.history(db, user),
        required=two_factor.required(user, current_app.config["TWO_FACTOR_ROLES"])), status
