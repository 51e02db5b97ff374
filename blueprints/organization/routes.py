from flask import render_template

from blueprints.organization import bp
from blueprints.guards import roles_required
from models import users


@bp.route("/")
@roles_required(users.ORG_MANAGER)
def dashboard():
    return render_template("organization/dashboard.html")
