"""The emergency-access review queue: who broke the glass, why, what they read, and a verdict."""
from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from blueprints.auditor import bp
from blueprints.auditor.forms import ReviewForm
from blueprints.form_errors import show_on_form
from blueprints.guards import roles_required
from models.consent import emergency, emergency_review
from models.core.clock import now_ms
from models.core.errors import DomainError, NotFound
from models.people import users
from models.storage.db import get_db


@bp.route("/emergencies")
@roles_required(users.AUDITOR)
def emergency_queue():
    db = get_db()
    return render_template("auditor/emergencies.html", pending=emergency.pending_review(db),
                           reviewed=emergency_review.recently_reviewed(db),
                           limit=emergency.LIST_LIMIT, now=now_ms(), is_open=emergency.is_open)


def _case_page(case, form, status=200):
    reads = emergency_review.reads_during(get_db(), case)
    return render_template("auditor/emergency.html", case=case, reads=reads, form=form,
                           still_open=emergency.is_open(case, now_ms())), status


def _require(emergency_id):
    case = emergency.get(get_db(), emergency_id)
    if case is None:
        raise NotFound("There is no such emergency access.")
    return case


@bp.route("/emergencies/<emergency_id>")
@roles_required(users.AUDITOR)
def emergency_case(emergency_id):
    return _case_page(_require(emergency_id), ReviewForm())


@bp.route("/emergencies/<emergency_id>", methods=["POST"])
@roles_required(users.AUDITOR)
def emergency_review_submit(emergency_id):
    case = _require(emergency_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _case_page(case, form, 400)
    try:
        emergency.review(get_db(), case["emergency_id"], current_user.doc,
                         form.verdict.data == "justified", form.note.data)
    except DomainError as exc:
        status = show_on_form(form, exc, "note")
        return _case_page(emergency.get(get_db(), emergency_id), form, status)
    current_app.logger.info("emergency %s reviewed by %s: %s", case["emergency_id"],
                            current_user.human_id, form.verdict.data)
    flash(f"{case['emergency_id']} marked {form.verdict.data.replace('un', 'not ')} "
          "and sealed on the ledger.", "success")
    return redirect(url_for("auditor.emergency_queue"))
