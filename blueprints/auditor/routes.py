from flask import render_template

from blueprints.auditor import bp
from blueprints.guards import roles_required
from models import users


@bp.route("/")
@roles_required(users.AUDITOR)
def dashboard():
    return render_template("auditor/dashboard.html")
