from flask import render_template

from blueprints.staff import bp
from blueprints.guards import roles_required
from models import users


@bp.route("/")
@roles_required(users.PHARMACIST, users.LAB_TECH)
def dashboard():
    return render_template("staff/dashboard.html")
