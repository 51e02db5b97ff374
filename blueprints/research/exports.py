"""Exports of an approved study (its researcher), the aggregate counts, and the auditors' list
of every export. Views parse, call models.research.exports and render; a refused export (too
few or too unique patients) is a Conflict whose message says why, like any domain error."""
import io

from flask import current_app, flash, redirect, render_template, send_file, url_for
from flask_login import current_user

from blueprints import clinical
from blueprints.clinical_forms import ConfirmForm
from blueprints.guards import roles_required
from blueprints.research import bp
from models.core.clock import now_ms
from models.core.errors import InvalidInput
from models.people import users
from models.research import aggregates, exports, studies
from models.storage.db import get_db


def _me():
    return current_user.doc


def _confirmed():
    if not ConfirmForm().validate_on_submit():
        raise InvalidInput("The form could not be read. Reload and try again.")


@bp.route("/studies/<study_id>/exports")
@roles_required(users.RESEARCHER)
def study_exports(study_id):
    db = get_db()
    study = studies.own(db, _me(), study_id)
    return render_template("research/exports.html", study=study,
                           exports=exports.for_study(db, study["study_id"]), now=now_ms(),
                           form=ConfirmForm(), labels=studies.STATUS_LABELS)


@bp.route("/studies/<study_id>/aggregates")
@roles_required(users.RESEARCHER)
def study_aggregates(study_id):
    db = get_db()
    study = studies.own(db, _me(), study_id)
    table = exports.aggregate(db, clinical.data_key(), study)
    return render_template("research/aggregates.html", study=study, table=table,
                           total=aggregates.TOTAL)


@bp.route("/studies/<study_id>/exports", methods=["POST"])
@roles_required(users.RESEARCHER)
def create_export(study_id):
    _confirmed()
    doc = exports.create(get_db(), clinical.data_key(), researcher=_me(), study_id=study_id)
    current_app.logger.info("research export created export=%s study=%s by=%s", doc["export_id"],
                            doc["study_id"], current_user.human_id)
    flash(f"Export {doc['export_id']} is ready: {doc['patients']} patients, k = "
          f"{doc['k_reached']}. Download it once, before it expires.", "success")
    return redirect(url_for("research.study_exports", study_id=doc["study_id"]))


@bp.route("/exports/<export_id>/download", methods=["POST"])
@roles_required(users.RESEARCHER)
def download_export(export_id):
    _confirmed()
    name, package = exports.download(get_db(), researcher=_me(), export_id=export_id)
    current_app.logger.info("research export downloaded export=%s by=%s", export_id,
                            current_user.human_id)
    response = send_file(io.BytesIO(package), mimetype="application/zip", as_attachment=True,
                         download_name=name, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/studies/<study_id>/counts")
@roles_required(users.PATIENT)
def participant_counts(study_id):
    """What a participant gets back: the study's counts, small cells withheld."""
    db = get_db()
    study = exports.participating(db, current_user.doc, study_id)
    return render_template("research/aggregates.html", study=study, total=aggregates.TOTAL,
                           table=exports.aggregate(db, clinical.data_key(), study))


@bp.route("/my-exports")
@roles_required(users.PATIENT)
def my_exports():
    """The exports the patient's de-identified data went into."""
    db = get_db()
    return render_template("research/my_exports.html",
                           exports=exports.including(db, current_user.human_id))


@bp.route("/audit/exports")
@roles_required(users.AUDITOR, users.ADMIN)
def audit_exports():
    return render_template("research/audit_exports.html", exports=exports.listing(get_db()))
