from flask import render_template

from blueprints.doctor import bp
from blueprints.guards import roles_required
from models import users


@bp.route("/")
@roles_required(users.DOCTOR)
def dashboard():
    return render_template("doctor/dashboard.html")
