from flask import render_template

from blueprints.patient import bp
from blueprints.guards import roles_required
from models import users


@bp.route("/")
@roles_required(users.PATIENT)
def dashboard():
    return render_template("patient/dashboard.html")
