from flask import render_template

from blueprints.admin import bp
from blueprints.guards import roles_required
from models import users


@bp.route("/")
@roles_required(users.ADMIN)
def dashboard():
    return render_template("admin/dashboard.html")
