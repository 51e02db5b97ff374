"""Research pages: a researcher's studies, the administrators' approval queue, the auditors'
list of studies, and the patient's research choices (shown on their sharing page).

Views parse, call models.research and render; every rule lives in the models. The export and
download routes live in their own module of this area (`exports.py`, issue 14's second half).
"""
from flask import render_template
from flask_login import current_user

from blueprints.guards import roles_required
from blueprints.research import bp
from models.people import organizations, users
from models.research import studies
from models.storage.db import get_db


@bp.route("/")
@roles_required(users.RESEARCHER)
def dashboard():
    db = get_db()
    organization = organizations.get(db, current_user.org_id) if current_user.org_id else None
    return render_template("research/dashboard.html", organization=organization,
                           studies=studies.for_researcher(db, current_user.human_id),
                           labels=studies.STATUS_LABELS)
