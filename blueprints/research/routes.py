"""Research pages: a researcher's studies, the administrators' approval queue, the auditors'
list of studies, and the patient's research choices (shown on their sharing page).

Views parse, call models.research and render; every rule lives in the models. The export and
download routes live in their own module of this area (`exports.py`, issue 14's second half).
"""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.clinical_forms import ConfirmForm
from blueprints.form_errors import submitted
from blueprints.guards import roles_required
from blueprints.research import bp
from blueprints.research.forms import DecisionForm, StudyForm
from models.core.errors import InvalidInput
from models.people import organizations, users
from models.research import catalogue, studies
from models.research import consent as research_consent
from models.storage.db import get_db

SHARING_PAGE = "patient.grants"
"""Where a patient makes their research choice (the sharing page)."""


def _labels():
    return {"labels": studies.STATUS_LABELS}


# Researchers ----------------------------------------------------------------------------------

@bp.route("/")
@roles_required(users.RESEARCHER)
def dashboard():
    db = get_db()
    organization = organizations.get(db, current_user.org_id) if current_user.org_id else None
    return render_template("research/dashboard.html", organization=organization,
                           studies=studies.for_researcher(db, current_user.human_id),
                           **_labels())


@bp.route("/studies/new", methods=["GET", "POST"])
@roles_required(users.RESEARCHER)
def study_new():
    form = StudyForm()
    status = 200
    if request.method == "POST":
        study, status = submitted(form, lambda: studies.register(
            get_db(), researcher=current_user.doc, **form.values()))
        if study:
            flash(f"{study['study_id']} is registered and waits for an administrator's "
                  "approval.", "success")
            return redirect(url_for("research.study", study_id=study["study_id"]))
    return render_template("research/study_new.html", form=form,
                           catalogue=catalogue), status


@bp.route("/studies/<study_id>")
@roles_required(users.RESEARCHER, users.ADMIN, users.AUDITOR)
def study(study_id):
    """A researcher sees their own studies only (others are not found); administrators and
    auditors see every study."""
    db = get_db()
    if current_user.role == users.RESEARCHER:
        found = studies.own(db, current_user.doc, study_id)
    else:
        found = studies.require(db, study_id)
    decide = DecisionForm() if current_user.role == users.ADMIN \
        and found["status"] == studies.PENDING else None
    return render_template("research/study.html", study=found, decide=decide,
                           fields=catalogue.describe(found["fields"]), **_labels())


# Administrators and auditors ------------------------------------------------------------------

@bp.route("/review")
@roles_required(users.ADMIN)
def review():
    db = get_db()
    return render_template("research/review.html",
                           pending=studies.listing(db, studies.PENDING),
                           decided=[study for study in studies.listing(db)
                                    if study["status"] != studies.PENDING], **_labels())


@bp.route("/review/<study_id>", methods=["POST"])
@roles_required(users.ADMIN)
def decide(study_id):
    db = get_db()
    found = studies.require(db, study_id)
    form = DecisionForm()
    done, status = submitted(form, lambda: studies.decide(
        db, actor=current_user.doc, study_id=found["study_id"], action=form.action(),
        reason=form.reason.data), fallback_field="reason")
    if done:
        flash(f"{done['study_id']} is {done['status']}.", "success")
        return redirect(url_for("research.review"))
    return render_template("research/study.html", study=found, decide=form,
                           fields=catalogue.describe(found["fields"]), **_labels()), status


@bp.route("/studies")
@roles_required(users.ADMIN, users.AUDITOR)
def all_studies():
    status = request.args.get("status") or None
    if status not in (None,) + studies.STATUSES:
        abort(404)
    return render_template("research/studies.html", status=status,
                           studies=studies.listing(get_db(), status),
                           statuses=studies.STATUSES, **_labels())


# Patients -------------------------------------------------------------------------------------

def _confirmed():
    if not ConfirmForm().validate_on_submit():
        raise InvalidInput("The form could not be read. Reload and try again.")


@bp.route("/choice", methods=["POST"])
@roles_required(users.PATIENT)
def choice():
    _confirmed()
    made = research_consent.set_choice(get_db(), patient=current_user.doc,
                                       choice=request.form.get("choice", ""))
    flash(research_consent.CHOICE_LABELS[made["choice"]] + " (from now on).", "success")
    return redirect(url_for(SHARING_PAGE) + "#research")


@bp.route("/studies/<study_id>/join", methods=["POST"])
@roles_required(users.PATIENT)
def join(study_id):
    return _for_study(research_consent.join_study, study_id,
                      "You take part in {} from now on.")


@bp.route("/studies/<study_id>/leave", methods=["POST"])
@roles_required(users.PATIENT)
def leave(study_id):
    return _for_study(research_consent.leave_study, study_id,
                      "You left {}: no later export of it includes your data.")


def _for_study(change, study_id, message):
    _confirmed()
    change(get_db(), patient=current_user.doc, study_id=study_id)
    flash(message.format(study_id.upper()), "success")
    return redirect(url_for(SHARING_PAGE) + "#research")
