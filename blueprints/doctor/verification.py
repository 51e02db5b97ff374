"""The page an unverified, pending or rejected doctor sees: status, reason, licence upload."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SubmitField

from blueprints.doctor import bp
from blueprints.form_errors import submitted
from blueprints.guards import roles_required
from models.people import users, verification
from models.storage.db import get_db


class LicenceForm(FlaskForm):
    licence = FileField("Medical licence (PDF, PNG or JPEG)", validators=[FileRequired("Choose a file.")])
    submit = SubmitField("Upload licence")


@bp.route("/verification", methods=["GET", "POST"], endpoint="verification")
@roles_required(users.DOCTOR, verified=False)
def verification_page():
    doctor = current_user.doc
    form = LicenceForm()
    status = 200
    if request.method == "POST":
        limit = current_app.config["MAX_ATTACHMENT_BYTES"]
        uploaded, status = submitted(form, lambda: verification.submit_licence(
            get_db(), doctor, verification.read_upload(form.licence.data.stream, limit),
            form.licence.data.filename, limit), fallback_field="licence")
        if uploaded:
            current_app.logger.info("licence uploaded user=%s", doctor["human_id"])
            flash("Your licence is uploaded. An administrator will review it.", "success")
            return redirect(url_for("doctor.verification"))
    state = doctor["verification"]["state"]
    return render_template("doctor/verification.html", form=form, state=state,
                           verification=doctor["verification"],
                           can_upload=state in verification.UPLOADABLE,
                           max_bytes=current_app.config["MAX_ATTACHMENT_BYTES"]), status
