"""Public self-registration: a patient opens their own account and is signed in."""
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user
from wtforms import PasswordField, SubmitField

from blueprints.form_errors import submitted
from blueprints.guards import public
from blueprints.patient import bp
from blueprints.patient_details import PatientDetailsForm
from extensions import limiter
from models.core import clock
from models.people import patients, users
from models.storage.db import get_db


class RegistrationForm(PatientDetailsForm):
    password = PasswordField("Password", render_kw={"autocomplete": "new-password"},
                             description=f"At least {users.MIN_PASSWORD_LENGTH} characters, "
                                         f"at most {users.MAX_PASSWORD_BYTES} bytes, not your username.")
    confirm = PasswordField("Repeat the password", render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Register")


def _registration_limit():
    return current_app.config.get("REGISTRATION_RATE_LIMIT", "10 per minute")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_registration_limit, methods=["POST"])
@public
def register():
    if current_user.is_authenticated:
        return redirect(url_for("auth.index"))
    form = RegistrationForm()
    if request.method == "GET":
        return render_template("patient/register.html", form=form)
    patient, status = submitted(form, lambda: patients.register_self(
        get_db(), password=form.password.data, confirm=form.confirm.data or "",
        rounds=current_app.config["BCRYPT_ROUNDS"], **form.details()))
    if patient:
        current_app.logger.info("patient registered user=%s", patient["human_id"])
        session.clear()
        session.permanent = True
        login_user(users.User(patient))
        session["last_seen"] = clock.now().timestamp()
        flash(f"Welcome! Your patient id is {patient['human_id']}.", "success")
        return redirect(url_for("patient.dashboard"))
    return render_template("patient/register.html", form=form), status
