"""The front desk of a hospital or clinic: the day's appointments and the wards' in-patients.

The front desk books, checks in and admits; it reads no clinical record. Each part of its
work (appointments, admissions) brings its own panel to the dashboard
(`templates/desk/_<part>.html`), so this view only says who the desk belongs to.
"""
from flask import render_template
from flask_login import current_user

from blueprints.desk import bp
from blueprints.guards import roles_required
from models.people import organizations, users
from models.storage.db import get_db


@bp.route("/")
@roles_required(users.FRONT_DESK)
def dashboard():
    organization = organizations.get(get_db(), current_user.org_id) if current_user.org_id else None
    return render_template("desk/dashboard.html", organization=organization)
