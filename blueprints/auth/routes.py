import os
from datetime import datetime, timezone
from urllib.parse import urlsplit

from flask import (Response, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_login import current_user, login_user, logout_user

from blueprints.auth import bp
from blueprints.auth.forms import LoginForm, SetPasswordForm
from blueprints.form_errors import submitted
from blueprints.guards import login_required, public
from extensions import limiter
from models.people import two_factor, users
from models.storage.db import get_db

HOME = {
    users.ADMIN: "admin.dashboard",
    users.ORG_MANAGER: "organization.dashboard",
    users.DOCTOR: "doctor.dashboard",
    users.PHARMACIST: "staff.dashboard",
    users.LAB_TECH: "staff.dashboard",
    users.FRONT_DESK: "desk.dashboard",
    users.RESEARCHER: "research.dashboard",
    users.PATIENT: "patient.dashboard",
    users.AUDITOR: "auditor.dashboard",
}


def safe_next(target):
    """Only a local path: anything with a scheme or network location is an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


def home_url():
    return url_for(HOME[current_user.role])


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(home_url())
    return redirect(url_for("auth.login"))


@bp.route("/favicon.ico")
@public
def favicon():
    """Browsers ask for /favicon.ico whatever a page links to: answer with the local icon
    rather than a 404 on every first visit. The file is a few hundred bytes, read whole (no
    file handle is left to the response)."""
    with open(os.path.join(current_app.static_folder, "favicon.ico"), "rb") as icon:
        data = icon.read()
    return Response(data, mimetype="image/vnd.microsoft.icon",
                    headers={"Cache-Control": "public, max-age=86400"})


HALF = "two_factor_pending"
"""Session key of a half sign-in: the password was right, the second factor is still due."""


def _now():
    return datetime.now(timezone.utc).timestamp()


def sign_in(user, next_url=None):
    """Log the account in on a fresh session (after the password, and the code if any)."""
    session.clear()
    session.permanent = True
    login_user(users.User(user))
    session["last_seen"] = _now()
    current_app.logger.info("login ok user=%s", user["human_id"])
    return redirect(next_url or home_url())


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            db = get_db()
            result = users.authenticate(
                db, form.username.data, form.password.data,
                threshold=current_app.config["LOCKOUT_THRESHOLD"],
                lock_minutes=current_app.config["LOCKOUT_MINUTES"],
                rounds=current_app.config["BCRYPT_ROUNDS"],
                hold=lambda user: two_factor.is_enabled(db, user))
            if result.held:
                # Half signed in: the session names the account, nobody is logged in yet.
                session.clear()
                session[HALF] = {"user": str(result.user["_id"]), "at": _now(),
                                 "next": safe_next(request.args.get("next"))}
                current_app.logger.info("password ok, code next user=%s",
                                        result.user["human_id"])
                return redirect(url_for("auth.two_factor_code"))
            if result.user:
                return sign_in(result.user, safe_next(request.args.get("next")))
            current_app.logger.info("login refused locked=%s", result.locked)
            form.password.errors.append(result.error)
            status = 401  # the same for a locked account as for an unknown one
        else:
            status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def set_password():
    form = SetPasswordForm()
    if request.method == "GET":
        return render_template("auth/set_password.html", form=form)
    saved, status = submitted(form, lambda: users.set_password(
        get_db(), current_user.doc, form.password.data or "", current_app.config["BCRYPT_ROUNDS"],
        confirm=form.confirm.data or ""))
    if saved:
        flash("Your password is saved.", "success")
        return redirect(home_url())
    return render_template("auth/set_password.html", form=form), status
